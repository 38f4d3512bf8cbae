// Shard leases against a real redis-server: each worker takes its fair share (ceil(S / live workers)),
// a worker that joins gets shards as the others give theirs back, a worker whose key was taken stops
// holding the shard, and a clean stop hands everything back. Rounds are run by hand (no timers), so
// nothing here depends on timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fairShare, ShardLeases } from '../../ingest/leases.ts';
import { RedisServer } from '../helpers/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-leases-'));
const redis = new RedisServer(dir);
beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

let made: ShardLeases[] = [];
let n = 0;
afterEach(async () => {
  for (const l of made) await l.stop();
  made = [];
});

/** A lease keeper in its own namespace per test, with the events it reported. */
async function worker(namespace: string, shards = 16, ttlMs = 60_000) {
  const l = new ShardLeases({ redisUrl: redis.url, ttlMs, shards, namespace, timers: false, token: `w${n++}` });
  const events = { gained: [] as number[], lost: [] as number[] };
  await l.start({ gained: (s) => events.gained.push(...s), lost: (s) => events.lost.push(...s) });
  made.push(l);
  return { l, events };
}

const union = (...ls: ShardLeases[]) => ls.flatMap((l) => l.shards()).sort((a, b) => a - b);
const all = (s: number) => Array.from({ length: s }, (_, i) => i);

describe('fair share', () => {
  it('is ceil(shards / live workers), one worker at least', () => {
    expect(fairShare(16, 1)).toBe(16);
    expect(fairShare(16, 3)).toBe(6);
    expect(fairShare(16, 16)).toBe(1);
    expect(fairShare(4, 6)).toBe(1);
    expect(fairShare(16, 0)).toBe(16);
  });
});

describe('shard leases in Redis', () => {
  it('a lone worker takes every shard; a second one gets half once the first gives back its excess', async () => {
    const a = await worker('join');
    await a.l.tick();
    expect(a.l.shards()).toEqual(all(16));
    expect(a.events.gained).toHaveLength(16);

    const b = await worker('join');
    await b.l.tick(); // two live workers, but every shard is still held by a
    expect(b.l.liveWorkers).toBe(2);
    expect(b.l.shards()).toEqual([]);
    await a.l.tick(); // a gives back what is above 8
    expect(a.l.shards()).toHaveLength(8);
    expect(a.events.lost).toHaveLength(8);
    await b.l.tick();
    expect(b.l.shards()).toHaveLength(8);
    expect(union(a.l, b.l)).toEqual(all(16));

    const c = await worker('join');
    for (const w of [c, a, b, c]) await w.l.tick();
    // Each at most ceil(16 / 3) = 6: the first two keep 6, the newcomer takes the 4 left.
    expect([a, b, c].map((w) => w.l.shards().length)).toEqual([6, 6, 4]);
    expect(union(a.l, b.l, c.l)).toEqual(all(16));
  });

  it('a clean stop hands its shards back: the others take them at their next round', async () => {
    const a = await worker('stop');
    const b = await worker('stop');
    for (const w of [a, b, a, b]) await w.l.tick();
    expect(a.l.shards()).toHaveLength(8);
    await a.l.stop();
    made = made.filter((x) => x !== a.l);
    await b.l.tick();
    expect(b.l.liveWorkers).toBe(1);
    expect(b.l.shards()).toEqual(all(16));
  });

  it('a worker whose key another token holds drops that shard at its next renewal', async () => {
    const a = await worker('steal', 4);
    await a.l.tick();
    expect(a.l.shards()).toEqual([0, 1, 2, 3]);
    const r = new Redis(redis.url);
    await r.set('qingcheng:steal:lease:2', 'someone-else', 'PX', 60_000);
    await r.quit();
    await a.l.tick();
    expect(a.l.shards()).toEqual([0, 1, 3]);
    expect(a.events.lost).toEqual([2]);
    expect(a.l.holds(2)).toBe(false);
  });

  it('each shard has one holder however the workers race', async () => {
    const ws = await Promise.all([1, 2, 3].map(() => worker('race', 16)));
    for (let round = 0; round < 3; round++) await Promise.all(ws.map((w) => w.l.tick()));
    const held = ws.flatMap((w) => w.l.shards());
    expect(new Set(held).size).toBe(held.length);
    for (const w of ws) expect(w.l.shards().length).toBeLessThanOrEqual(6);
  });
});
