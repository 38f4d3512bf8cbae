import { describe, expect, it } from 'vitest';
import { insertRange, Watermarks } from '../../ingest/watermarks.ts';

describe('watermarks', () => {
  it('advance only over contiguous settled seqs', () => {
    const w = new Watermarks();
    expect(w.settle('g', 'e1', 0, 9)).toBe(9);
    expect(w.settle('g', 'e1', 20, 29)).toBeNull(); // live data ahead of a hole
    expect(w.pending('g')).toEqual([[20, 29]]);
    expect(w.settle('g', 'e1', 10, 19)).toBe(29);
    expect(w.pending('g')).toEqual([]);
    expect(w.settle('g', 'e1', 5, 7)).toBeNull(); // a replay of what is already settled
  });

  it("pass announced gaps, and a restarted worker catches up from the gateway's settled range", () => {
    const w = new Watermarks();
    expect(w.settle('g', 'e1', 500, 599)).toBeNull();
    expect(w.settle('g', 'e1', 0, 499)).toBe(599);
  });

  it('start over for a new epoch', () => {
    const w = new Watermarks();
    w.settle('g', 'old', 0, 99);
    expect(w.settle('g', 'new', 0, 4)).toBe(4);
    expect(w.get('g')).toEqual({ ep: 'new', seq: 4 });
  });

  it('restore from a retained ack without moving backwards', () => {
    const w = new Watermarks();
    w.restore('g', 'e', 41);
    expect(w.settle('g', 'e', 42, 50)).toBe(50);
    w.restore('g', 'e', 10);
    expect(w.get('g')).toEqual({ ep: 'e', seq: 50 });
  });

  it('tell which seqs are settled, below the watermark or in a range above it (what the engine has applied)', () => {
    const w = new Watermarks();
    w.settle('g', 'e', 0, 199);
    w.settle('g', 'e', 800, 999); // live data ahead of the backlog
    w.settle('g', 'e', 400, 599);
    expect([0, 199, 200, 399, 400, 599, 600, 800, 999, 1000].map((s) => w.has('g', 'e', s))).toEqual([
      true,
      true,
      false,
      false,
      true,
      true,
      false,
      true,
      true,
      false,
    ]);
    expect(w.has('g', 'other-epoch', 5)).toBe(false);
    expect(w.has('h', 'e', 5)).toBe(false);
  });

  it('merge ranges', () => {
    const r: [number, number][] = [
      [1, 2],
      [5, 6],
      [10, 12],
    ];
    insertRange(r, [3, 4]);
    expect(r).toEqual([
      [1, 6],
      [10, 12],
    ]);
    insertRange(r, [8, 8]);
    insertRange(r, [0, 20]);
    expect(r).toEqual([[0, 20]]);
  });
});
