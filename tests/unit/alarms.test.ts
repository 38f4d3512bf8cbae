import { describe, expect, it } from 'vitest';
import { AlarmTracker, type Threshold } from '../../ingest/engine/alarms.ts';

const so2: Threshold = {
  rule: 'ultra-low',
  field: 'so2',
  limit: 35,
  bound: 'max',
  minDurationMs: 60_000,
  clearDurationMs: 60_000,
  hysteresis: 0.05,
};
const t0 = Date.UTC(2026, 10, 1, 2);
const min = (m: number) => t0 + m * 60_000;

function feed(tr: AlarmTracker, t: Threshold, values: number[], dev = 'cems-1') {
  return values
    .map((v, i) => tr.observe(dev, t, min(i), v))
    .filter(Boolean)
    .map((e) => ({
      state: e!.state,
      ts: (e!.ts - t0) / 60_000,
      since: (e!.since - t0) / 60_000,
      value: e!.value,
      peak: e!.peak,
    }));
}

describe('alarm lifecycle', () => {
  it('opens after the minimum duration past the limit and closes after the clear duration', () => {
    const ev = feed(new AlarmTracker(), so2, [30, 36, 38, 40, 39, 30, 30, 30]);
    expect(ev).toEqual([
      { state: 'open', ts: 2, since: 1, value: 38, peak: 38 },
      { state: 'close', ts: 5, since: 1, value: 30, peak: 40 },
    ]);
  });

  it('ignores an excursion shorter than the minimum duration', () => {
    expect(feed(new AlarmTracker(), so2, [30, 40, 30, 40, 30])).toEqual([]);
  });

  it('raises one alarm for a value flapping around the limit (hysteresis)', () => {
    // 34 is under the limit but inside the 5 % band (33.25): it does not count as clear.
    const ev = feed(new AlarmTracker(), so2, [36, 36, 34, 36, 34, 36, 34, 36, 30, 30, 30]);
    expect(ev.map((e) => e.state)).toEqual(['open', 'close']);
  });

  it('sends an update when the peak worsens by a tenth of the limit', () => {
    const ev = feed(new AlarmTracker(), so2, [36, 37, 38, 42, 43, 46]);
    expect(ev.map((e) => [e.state, e.peak])).toEqual([
      ['open', 37],
      ['update', 42],
      ['update', 46],
    ]);
  });

  it('treats a lower bound (dissolved oxygen) the other way round', () => {
    const doMin: Threshold = { ...so2, rule: 'gb3838-III', field: 'do', limit: 5, bound: 'min' };
    expect(feed(new AlarmTracker(), doMin, [6, 4.5, 4.2, 4.0, 6, 6, 6]).map((e) => [e.state, e.peak])).toEqual([
      ['open', 4.2],
      ['close', 4.0],
    ]);
  });

  it('ignores replayed samples and keeps devices apart', () => {
    const tr = new AlarmTracker();
    expect(tr.observe('a', so2, min(0), 40)).toBeNull();
    expect(tr.observe('a', so2, min(1), 40)?.state).toBe('open');
    expect(tr.observe('a', so2, min(1), 40)).toBeNull();
    expect(tr.observe('a', so2, min(0), 40)).toBeNull();
    expect(tr.observe('b', so2, min(1), 40)).toBeNull();
    expect(tr.open('a')).toHaveLength(1);
    expect(tr.open('b')).toHaveLength(0);
  });

  it('restores an open alarm after a restart: no second open, and it still closes', () => {
    const before = new AlarmTracker();
    before.observe('a', so2, min(0), 40);
    before.observe('a', so2, min(1), 41);
    const [open] = before.open('a');
    const after = new AlarmTracker();
    after.restore('a', open!);
    expect(after.observe('a', so2, min(1), 41)).toBeNull(); // the replay of what was judged before
    expect(after.observe('a', so2, min(2), 41)).toBeNull();
    expect(after.observe('a', so2, min(3), 30)).toBeNull();
    expect(after.observe('a', so2, min(4), 30)).toMatchObject({ state: 'close', since: min(0), ts: min(3), peak: 41 });
  });
});
