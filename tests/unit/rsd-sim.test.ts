// SIM-RSD (docs/standards/limits.md §8.4) and the gateway's http link that remote-sensing sets push to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpInput } from '../../gateway/drivers/http-input.ts';
import { Outbox } from '../../gateway/outbox.ts';
import { passes, passesPerHour } from '../../simulators/models/rsd.ts';
import { postRecords } from '../../simulators/rsd-push.ts';
import { judgePass, RSD_DEFAULT_LIMITS } from '../../standards/rsd.ts';

// Midnight in Beijing on 2025-11-01: pinned, and in the past of any date the suite runs on, since the
// http link refuses records from the future of its clock.
const T0 = Date.UTC(2025, 10, 1, 16);

describe('SIM-RSD', () => {
  const week = passes({ dev: 'rsd-1', seed: 1 }, T0, T0 + 7 * 86_400_000);

  it('is deterministic, event based, busy by day and quiet at night', () => {
    expect(passes({ dev: 'rsd-1', seed: 1 }, T0, T0 + 3_600_000)).toEqual(week.filter((p) => p.ts < T0 + 3_600_000));
    expect(passesPerHour(3)).toBe(50);
    expect(passesPerHour(14)).toBe(400);
    expect(week.every((p, i) => i === 0 || p.ts >= week[i - 1]!.ts)).toBe(true);
  });

  it('has the fleet mix, invalid share and high-emitter share of docs/standards/limits.md §8.4', () => {
    const share = (f: (p: (typeof week)[number]) => boolean, of = week) => of.filter(f).length / of.length;
    expect(share((p) => p.a!.fuel === 'gasoline')).toBeCloseTo(0.85, 1);
    expect(share((p) => p.a!.fuel === 'diesel')).toBeCloseTo(0.1, 1);
    expect(share((p) => p.a!.invalid !== undefined)).toBeGreaterThan(0.2);
    expect(share((p) => p.a!.invalid !== undefined)).toBeLessThan(0.4);
    const diesel = week.filter((p) => p.a!.fuel === 'diesel' && !p.a!.invalid);
    const over = share((p) => {
      const v = judgePass(p.m, 'diesel', RSD_DEFAULT_LIMITS);
      return v.judged && v.exceeded.length > 0;
    }, diesel);
    expect(over).toBeGreaterThan(0.03);
    expect(over).toBeLessThan(0.05);
  });

  it('marks more passes invalid in a Hohhot winter', () => {
    const cold = passes({ dev: 'rsd-1', seed: 1, temp: () => -25 }, T0, T0 + 86_400_000);
    expect(cold.filter((p) => p.a!.invalid).length / cold.length).toBeGreaterThan(0.5);
  });
});

describe('gateway http link', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qingcheng-http-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores good records before answering, names bad ones, and checks the token', async () => {
    const outbox = new Outbox(join(dir, 'o.sqlite'));
    const input = new HttpInput(
      { name: 'push', type: 'http', host: '127.0.0.1', port: 0, token: 't0k' },
      [{ id: 'rsd-1', kind: 'rsd', link: 'push' }],
      (r) => outbox.append(r),
    );
    const port = await input.start();
    const url = `http://127.0.0.1:${port}/records`;
    try {
      const good = passes({ dev: 'rsd-1', seed: 2 }, T0, T0 + 600_000);
      const bad = [
        { dev: 'rsd-9', ts: T0, m: { no_ppm: 1 } },
        { dev: 'rsd-1', ts: T0, m: { no_ppm: '1' } },
        { dev: 'rsd-1', kind: 'noise', ts: T0, m: { no_ppm: 1 } },
      ];
      await expect(postRecords({ url, token: 'wrong' }, good)).rejects.toThrow('HTTP 401');
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: 'Bearer t0k' },
        body: JSON.stringify({ records: [...good, ...bad] }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        accepted: good.length,
        rejected: [
          { at: `records[${good.length}].dev`, reason: 'not a device of link push (devices: rsd-1)' },
          { at: `records[${good.length + 1}].m.no_ppm`, reason: 'expected a number, got string' },
          { at: `records[${good.length + 2}].kind`, reason: 'device rsd-1 is configured as rsd' },
        ],
      });
      // In the outbox already, with the configured kind and the attributes.
      expect(outbox.depth).toBe(good.length);
      expect(JSON.parse(outbox.oldestUnsent(1)[0]!.body)).toEqual(good[0]);
      const none = await fetch(url, {
        method: 'POST',
        headers: { authorization: 'Bearer t0k' },
        body: JSON.stringify(bad),
      });
      expect(none.status).toBe(400);
      expect(
        (await fetch(url, { method: 'POST', headers: { authorization: 'Bearer t0k' }, body: '{"records":' })).status,
      ).toBe(400);
      expect(input.perDevice.get('rsd-1')).toMatchObject({ accepted: good.length, rejected: 4 });
    } finally {
      await input.close();
      outbox.close();
    }
  });

  it('answers 401 with the reason to a push without its token, counts it, and takes anyone with auth: none', async () => {
    const stored: unknown[] = [];
    const dev = [{ id: 'rsd-1', kind: 'rsd' as const, link: 'push' }];
    const guarded = new HttpInput({ name: 'push', type: 'http', host: '127.0.0.1', port: 0, token: 't0k' }, dev, (r) =>
      stored.push(...r),
    );
    const open = new HttpInput({ name: 'push', type: 'http', host: '127.0.0.1', port: 0, auth: 'none' }, dev, (r) =>
      stored.push(...r),
    );
    const body = JSON.stringify({ records: passes({ dev: 'rsd-1', seed: 2 }, T0, T0 + 600_000).slice(0, 1) });
    try {
      const [g, o] = [await guarded.start(), await open.start()];
      const post = (port: number, headers: Record<string, string> = {}) =>
        fetch(`http://127.0.0.1:${port}/records`, { method: 'POST', headers, body });
      const missing = await post(g);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect(await missing.json()).toEqual({
        error: 'missing "Authorization: Bearer <token>" header: this link requires its token',
      });
      expect(await (await post(g, { authorization: 't0k' })).json()).toEqual({
        error: 'wrong bearer token for this link',
      });
      expect(guarded.stats).toMatchObject({ unauthorized: 2, requests: 0, accepted: 0 });
      expect(stored).toHaveLength(0);
      expect((await post(o)).status).toBe(200);
      expect(stored).toHaveLength(1);
    } finally {
      await guarded.close();
      await open.close();
    }
  });
});
