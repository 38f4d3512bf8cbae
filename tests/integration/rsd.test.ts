// Remote sensing end to end: SIM-RSD passes pushed to the gateway's http link → outbox → Aedes → ingest
// (a child process) → influxd, with per-pass exceedances and high emitters in the alert measurement
// and on MQTT, and a plate's earlier exceedance still counted after a kill -9 of ingest.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { passes } from '../../simulators/models/rsd.ts';
import { postRecords } from '../../simulators/rsd-push.ts';
import { judgePass, type RsdLimits } from '../../standards/rsd.ts';
import { Pipeline } from '../helpers/pipeline.ts';

const HOUR = 3_600_000;
// Limits of this test's devices file: the shipped diesel table, and gasoline numbers set for the test.
const LIMITS: RsdLimits = {
  diesel: { opacity: 30, ringelmann: 1, no_ppm: 1500 },
  gasoline: { co_pct: 2.5, hc_ppm: 800, no_ppm: 2000 },
};
const p = new Pipeline({ stations: 0, rsd: ['rsd-0001', 'rsd-0002'] });
const devicesFile = join(p.dir, 'devices.yaml');
p.o.ingestArgs = ['--devices', devicesFile];

beforeAll(async () => {
  writeFileSync(
    devicesFile,
    'rsd:\n  limits:\n    gasoline: { co_pct: 2.5, hc_ppm: 800, no_ppm: 2000 }\n  repeat: { count: 2, window_days: 180 }\n',
  );
  await p.start();
});
afterAll(() => p.stop());

const diesel = (dev: string, ts: number, plate: string, opacity: number): SampleRecord => ({
  dev,
  kind: 'rsd',
  ts,
  m: { opacity, no_ppm: 600, ringelmann: 0, speed: 40 },
  a: { plate, fuel: 'diesel', plate_color: 'yellow' },
});

it("stores every pass, flags each one over its fuel's limits and every plate over twice, and counts across a kill -9 of ingest", async () => {
  const now = Math.floor(Date.now() / 1000) * 1000;
  // Six hours of two sites: at least 600 passes, so the gateway sends newest-first and backlog
  // envelopes, and the backlog must be judged too. A small fleet, so plates come back.
  const from = now - 7 * HOUR;
  const sim = [
    ...passes({ dev: 'rsd-0001', seed: 1, fleetSize: 150 }, from, now - HOUR),
    ...passes({ dev: 'rsd-0002', seed: 2, fleetSize: 150 }, from, now - HOUR),
  ];
  // Two trucks over the limit past one site in the same millisecond: two passes, two events.
  const twins = [
    diesel('rsd-0002', now - 3 * HOUR + 7, '蒙A·TWIN01', 40),
    diesel('rsd-0002', now - 3 * HOUR + 7, '蒙A·TWIN02', 45),
  ];
  const first = [...sim, ...twins, diesel('rsd-0001', now - 2 * HOUR, '蒙A·RESTART', 55)];
  expect(await postRecords({ url: p.pushUrl, token: p.pushToken }, first)).toBe(first.length);

  // What the standards say, pass by pass.
  const over = first.flatMap((r) => {
    const v = judgePass(r.m, r.a!.fuel, LIMITS, r.a!.invalid);
    return v.judged ? v.exceeded.map((x) => ({ ...x, dev: r.dev, ts: r.ts, plate: r.a!.plate! })) : [];
  });
  const overPasses = new Map<string, Set<number>>();
  for (const o of over) overPasses.set(o.plate, (overPasses.get(o.plate) ?? new Set()).add(o.ts));
  const repeat = [...overPasses].filter(([, t]) => t.size >= 2).map(([plate, t]) => [plate, t.size]);
  expect(over.length).toBeGreaterThan(5);
  expect(repeat.length).toBeGreaterThan(0);

  await p.waitForAcked(first.length);
  const stored = await p.influx.rows(`SELECT count(speed) FROM rsd`);
  expect(stored[0]!.count).toBe(first.length);
  const one = await p.influx.rows(`SELECT * FROM rsd WHERE plate = '蒙A·RESTART'`);
  expect(one[0]).toMatchObject({
    dev: 'rsd-0001',
    kind: 'rsd',
    fuel: 'diesel',
    plate_color: 'yellow',
    opacity: 55,
    gw: p.gwId,
  });

  const rows = await p.influx.rows(`SELECT * FROM alert WHERE rule = 'rsd-pass'`);
  const key = (x: Record<string, unknown>) => `${x.dev} ${x.field} ${x.time ?? x.ts} ${x.value} ${x.limit} ${x.plate}`;
  expect(rows.map(key).sort()).toEqual(over.map(key).sort());
  // A high emitter is reported when its second exceedance arrives; the order of arrival decides which pass that is.
  const highs = new Map<string, number>();
  for (const h of await p.influx.rows(`SELECT plate, value FROM alert WHERE rule = 'rsd-repeat'`))
    highs.set(h.plate as string, Math.max(highs.get(h.plate as string) ?? 0, h.value as number));
  expect([...highs].sort()).toEqual(repeat.sort());
  await waitFor(
    'the events on MQTT',
    () => p.alerts.filter((e) => e.rule === 'rsd-pass').length === over.length,
    20_000,
  );

  // kill -9 ingest; the plate comes back over its limit an hour later.
  await p.ingest!.kill('SIGKILL');
  const starts = p.ingestStarts.length;
  p.startIngest();
  await waitFor('ingest to start again', () => p.ingestStarts.length > starts, 20_000);
  expect(p.ingestStarts.at(-1)!.restored.rsd_passes).toBe(over.length);
  const again = diesel('rsd-0002', now - HOUR, '蒙A·RESTART', 47);
  await postRecords({ url: p.pushUrl, token: p.pushToken }, [again]);
  await waitFor(
    'the high-emitter event',
    () => p.alerts.some((e) => e.rule === 'rsd-repeat' && e.attrs?.plate === '蒙A·RESTART'),
    20_000,
  );
  expect(
    p.alerts.filter((e) => e.attrs?.plate === '蒙A·RESTART').map((e) => [e.rule, e.dev, e.value, e.limit]),
  ).toEqual([
    ['rsd-pass', 'rsd-0001', 55, 30],
    ['rsd-pass', 'rsd-0002', 47, 30],
    ['rsd-repeat', 'rsd-0002', 2, 2],
  ]);
});
