import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, runs, type StoredRecord } from '../../gateway/outbox.ts';
import { fitBytes } from '../../gateway/uplink.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';

const dirs: string[] = [];
function path(): string {
  const d = mkdtempSync(join(tmpdir(), 'outbox-'));
  dirs.push(d);
  return join(d, 'outbox.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (i: number, agg?: SampleRecord['agg']): SampleRecord => ({
  dev: 'aq-1',
  kind: 'air.micro',
  ts: 1_800_000_000_000 + i,
  m: { pm25: i },
  ...(agg ? { agg } : {}),
});
const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => rec(from + i));

describe('outbox', () => {
  it('numbers records gap-free and keeps epoch and seq across a reopen', () => {
    const p = path();
    const a = new Outbox(p);
    expect(a.append(many(3))).toBe(0);
    expect(a.append(many(2))).toBe(3);
    const epoch = a.epoch;
    a.close();
    const b = new Outbox(p);
    expect(b.epoch).toBe(epoch);
    expect(b.next).toBe(5);
    expect(b.depth).toBe(5);
    expect(b.append(many(1))).toBe(5);
    b.close();
  });

  it('starts a new epoch at seq 0 when its file is gone', () => {
    const a = new Outbox(path());
    const b = new Outbox(path());
    expect(a.epoch).not.toBe(b.epoch);
    expect(b.next).toBe(0);
  });

  it('hands out the newest and the oldest unsent runs, and trims on acknowledgement', () => {
    const o = new Outbox(path());
    o.append(many(10));
    expect(o.newestUnsent(3).map((r) => r.seq)).toEqual([7, 8, 9]);
    o.markSent(7, 9);
    expect(o.oldestUnsent(4).map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    o.markSent(0, 3);
    expect(o.newestUnsent(10).map((r) => r.seq)).toEqual([4, 5, 6]);
    expect(o.unackedCount()).toBe(7);
    expect(o.ack(5)).toBe(6);
    expect(o.depth).toBe(4);
    expect(o.acked).toBe(5);
    expect(o.settled()).toEqual([[0, 5]]);
    expect(o.ack(3)).toBe(0); // watermarks never go back
    expect(JSON.parse(o.newestUnsent(1)[0]!.body)).toEqual(rec(6));
  });

  it('makes sent records due again after the re-publish timeout', () => {
    const o = new Outbox(path());
    o.append(many(4));
    o.markSent(0, 3, 1000);
    expect(o.newestUnsent(10)).toEqual([]);
    expect(o.expireSent(2000)).toBe(4);
    expect(o.newestUnsent(10).map((r) => r.seq)).toEqual([0, 1, 2, 3]);
  });

  it('never trims past what it holds when given a watermark from the future', () => {
    const o = new Outbox(path());
    o.append(many(3));
    o.ack(100);
    expect(o.acked).toBe(2);
    expect(o.depth).toBe(0);
  });

  it('evicts raw samples before aggregates past its budget, counts them and announces them as gaps', () => {
    const o = new Outbox(path(), 100);
    o.append([rec(0, 'hour'), rec(1, 'hour')]);
    o.append(many(98, 2));
    expect(o.evicted).toBe(0);
    o.append(many(5, 100));
    expect(o.evicted).toBe(5);
    expect(o.depth).toBe(100);
    // The hourly records at seq 0 and 1 stay; raw seqs 2..6 went.
    expect(o.settled()).toEqual([[2, 6]]);
    o.append(many(3, 105));
    expect(o.settled()).toEqual([[2, 9]]);
    o.ack(1);
    expect(o.settled()).toEqual([[0, 9]]); // acknowledged and evicted alike lie below the lowest record held
    expect(o.oldestUnsent(1)[0]!.seq).toBe(10);
  });

  it('groups sorted seqs into runs', () => {
    expect(runs([1, 2, 3, 7, 9, 10])).toEqual([
      [1, 3],
      [7, 7],
      [9, 10],
    ]);
    expect(runs([])).toEqual([]);
  });
});

describe('envelope size', () => {
  it('cuts a run of records to what fits one 1 MiB envelope, keeping the newest or the oldest end contiguous', () => {
    const body = 'x'.repeat(100 * 1024); // 100 KiB a record: ten do not fit
    const run: StoredRecord[] = Array.from({ length: 12 }, (_, i) => ({ seq: i, body }));
    const newest = fitBytes(run, 'newest');
    const oldest = fitBytes(run, 'oldest');
    expect(newest.map((r) => r.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(oldest.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const small = run.map((r) => ({ ...r, body: '{}' }));
    expect(fitBytes(small, 'newest')).toBe(small);
  });
});
