// GB 3096-2008 through the engine: hourly Leq and the day (L_d) and night (L_n) period levels against
// the zone's limits, the 06:00 and 22:00 Beijing boundaries, the night Lmax rule, and a restart.
// Numbers: docs/standards/limits.md §7. Every time is pinned.
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../ingest/engine/alarms.ts';
import type { DeviceSettings } from '../../ingest/engine/devices.ts';
import { Engine } from '../../ingest/engine/engine.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { NOISE_LIMITS, periodStart } from '../../standards/noise.ts';

const MIN = 60_000;
/** Beijing wall-clock time on 2026-06-15 (+ `day` days) as epoch ms (UTC+8). */
const bj = (h: number, m = 0, day = 0) => Date.UTC(2026, 5, 15 + day, h - 8, m);

const engine = (devices: Record<string, DeviceSettings> = {}) =>
  new Engine(new Topics(), { devices: new Map(Object.entries(devices)) });

function events(e: Engine, records: SampleRecord[]): AlarmEvent[] {
  const out: AlarmEvent[] = [];
  for (const r of records)
    for (const m of e.process(r).messages)
      if (m.topic.includes('/alert/') && m.payload) out.push(JSON.parse(m.payload).event);
  return out;
}

/** One sample a minute from `from` for `minutes`, with the level `at(i)`. */
const minutes = (from: number, n: number, at: (i: number) => Record<string, number>, dev = 'ns-1') =>
  Array.from({ length: n }, (_, i): SampleRecord => ({ dev, kind: 'noise', ts: from + i * MIN, m: at(i) }));

const brief = (es: AlarmEvent[]) => es.map((e) => [e.rule, e.field, e.state, e.ts, +e.value.toFixed(2), e.limit]);

describe('GB 3096 limits by zone', () => {
  it('has the day and night L_Aeq limits of zones 0, 1, 2, 3, 4a and 4b', () => {
    expect(NOISE_LIMITS).toEqual({
      '0': { day: 50, night: 40 },
      '1': { day: 55, night: 45 },
      '2': { day: 60, night: 50 },
      '3': { day: 65, night: 55 },
      '4a': { day: 70, night: 55 },
      '4b': { day: 70, night: 60 },
    });
  });

  it('starts the day period at 06:00 and the night period at 22:00 Beijing time', () => {
    expect(periodStart(bj(6))).toBe(bj(6));
    expect(periodStart(bj(5, 59))).toBe(bj(22, 0, -1));
    expect(periodStart(bj(21, 59))).toBe(bj(6));
    expect(periodStart(bj(22))).toBe(bj(22));
    expect(periodStart(bj(1, 30, 1))).toBe(bj(22));
  });
});

describe('noise judge: hourly Leq', () => {
  it('energy-averages the hour: 30 min at 50 and 30 min at 60 dB(A) is 57.40, over zone 1 by day (55)', () => {
    const e = engine({ 'ns-1': { noiseZone: '1' } });
    const got = events(e, [
      ...minutes(bj(10), 60, (i) => ({ leq: i < 30 ? 50 : 60 })),
      ...minutes(bj(11), 60, () => ({ leq: 50 })),
    ]);
    // The arithmetic mean (55) would be no exceedance; 10·lg((10^5 + 10^6) / 2) = 57.40 is.
    expect(brief(got)).toEqual([['gb3096-1-hour', 'leq', 'open', bj(10), 57.4, 55]]);
    // The next sample's hour (11:00) at 50 closes it.
    expect(brief(events(e, [{ dev: 'ns-1', kind: 'noise', ts: bj(12), m: { leq: 50 } }]))).toEqual([
      ['gb3096-1-hour', 'leq', 'close', bj(11), 50, 55],
    ]);
  });

  it('judges the hour from 22:00 by the night limit and the hour from 06:00 by the day limit (zone 2: 60 / 50)', () => {
    const e = engine();
    const got = events(e, [
      ...minutes(bj(21), 60, () => ({ leq: 55 })), // day: 55 ≤ 60
      ...minutes(bj(22), 60, () => ({ leq: 55 })), // night: 55 > 50
      ...minutes(bj(5, 0, 1), 60, () => ({ leq: 55 })), // still night
      ...minutes(bj(6, 0, 1), 61, () => ({ leq: 55 })), // day again: closes
    ]);
    expect(brief(got).filter((x) => x[0] === 'gb3096-2-hour')).toEqual([
      ['gb3096-2-hour', 'leq', 'open', bj(22), 55, 50],
      ['gb3096-2-hour', 'leq', 'close', bj(6, 0, 1), 55, 60],
    ]);
  });

  it('tells 4a from 4b at night (55 / 60), and the same hour is within both by day (70)', () => {
    const night = (zone: '4a' | '4b') =>
      brief(
        events(
          engine({ 'ns-1': { noiseZone: zone } }),
          minutes(bj(23), 61, () => ({ leq: 57 })),
        ),
      );
    expect(night('4a')).toEqual([['gb3096-4a-hour', 'leq', 'open', bj(23), 57, 55]]);
    expect(night('4b')).toEqual([]);
    expect(
      events(
        engine({ 'ns-1': { noiseZone: '4a' } }),
        minutes(bj(10), 61, () => ({ leq: 69 })),
      ),
    ).toEqual([]);
  });

  it('makes no hourly Leq of an hour with under 45 minutes of samples, and uses LA when a monitor sends no Leq', () => {
    expect(
      events(engine(), minutes(bj(23), 44, () => ({ la: 70 })).concat(minutes(bj(0, 0, 1), 1, () => ({ la: 40 })))),
    ).toEqual([]);
    expect(
      brief(
        events(engine(), minutes(bj(23), 45, () => ({ la: 70 })).concat(minutes(bj(0, 0, 1), 1, () => ({ la: 40 })))),
      ),
    ).toEqual([['gb3096-2-hour', 'leq', 'open', bj(23), 70, 50]]);
  });
});

describe('noise judge: day and night period levels', () => {
  it('judges L_n of a whole night at 06:00 and L_d of the day at 22:00 (zone 2: 50 / 60)', () => {
    const e = engine();
    const nightAt52 = minutes(bj(22), 8 * 60, () => ({ leq: 52 }));
    const dayAt58 = minutes(bj(6, 0, 1), 16 * 60, () => ({ leq: 58 }));
    const nextNight = minutes(bj(22, 0, 1), 8 * 60 + 1, () => ({ leq: 45 }));
    const got = brief(events(e, [...nightAt52, ...dayAt58, ...nextNight])).filter((x) => x[0] !== 'gb3096-2-hour');
    // L_n 52 > 50 opens (dated at the night's start); L_d 58 ≤ 60 says nothing; the next night's L_n 45 closes it.
    expect(got).toEqual([
      ['gb3096-2-ln', 'ln', 'open', bj(22), 52, 50],
      ['gb3096-2-ln', 'ln', 'close', bj(22, 0, 1), 45, 50],
    ]);
  });

  it('energy-averages the hours of a day: 4 loud hours (70) in 16 quiet ones (55) make L_d 64.37, over 60', () => {
    const day = minutes(bj(6), 16 * 60 + 1, (i) => ({ leq: i >= 8 * 60 && i < 12 * 60 ? 70 : 55 }));
    const got = brief(events(engine(), day)).filter((x) => x[0] === 'gb3096-2-ld');
    // 10·lg((4·10^7 + 12·10^5.5) / 16) = 10·lg(2 737 171) = 64.37
    expect(got).toEqual([['gb3096-2-ld', 'ld', 'open', bj(6), 64.37, 60]]);
  });

  it('needs 75 % of the period: a night with 5 valid hours of 8 has no L_n', () => {
    const five = minutes(bj(22), 5 * 60, () => ({ leq: 60 }));
    const got = brief(events(engine(), [...five, ...minutes(bj(6, 0, 1), 1, () => ({ leq: 40 }))]));
    expect(got.filter((x) => x[0] === 'gb3096-2-ln')).toEqual([]);
    const six = minutes(bj(22), 6 * 60, () => ({ leq: 60 }));
    const got6 = brief(events(engine(), [...six, ...minutes(bj(6, 0, 1), 1, () => ({ leq: 40 }))]));
    expect(got6.filter((x) => x[0] === 'gb3096-2-ln')).toEqual([['gb3096-2-ln', 'ln', 'open', bj(22), 60, 50]]);
  });

  it("judges a monitor's own hourly Leq and daily L_d / L_n", () => {
    const got = events(engine({ 'ns-1': { noiseZone: '3' } }), [
      { dev: 'ns-1', kind: 'noise', ts: bj(10), agg: 'hour', m: { leq: 66 } },
      { dev: 'ns-1', kind: 'noise', ts: bj(0), agg: 'day', m: { ld: 64, ln: 56 } },
    ]);
    expect(brief(got)).toEqual([
      ['gb3096-3-hour', 'leq', 'open', bj(10), 66, 65],
      ['gb3096-3-ln', 'ln', 'open', bj(0), 56, 55],
    ]);
  });
});

describe('noise judge: night sudden noise (Lmax ≤ night limit + 15 dB(A))', () => {
  it('makes each night sample with Lmax over the night limit + 15 an event, from 22:00 until 06:00', () => {
    const s = (ts: number, lmax: number): SampleRecord => ({ dev: 'ns-1', kind: 'noise', ts, m: { leq: 45, lmax } });
    const got = events(engine(), [
      s(bj(21, 59), 80), // day: no Lmax rule
      s(bj(22), 66), // zone 2: 50 + 15 = 65
      s(bj(22, 1), 65), // equal: not over
      s(bj(22, 1), 65),
      s(bj(5, 59, 1), 70),
      s(bj(5, 59, 1), 70), // re-sent: no second event
      s(bj(6, 0, 1), 90), // day again
    ]);
    expect(brief(got)).toEqual([
      ['gb3096-2-night-lmax', 'lmax', 'event', bj(22), 66, 65],
      ['gb3096-2-night-lmax', 'lmax', 'event', bj(5, 59, 1), 70, 65],
    ]);
  });

  it('uses the zone: 0 allows 55 at night, 4b 75', () => {
    const at = (zone: '0' | '4b', lmax: number) =>
      events(engine({ 'ns-1': { noiseZone: zone } }), [{ dev: 'ns-1', kind: 'noise', ts: bj(2), m: { lmax } }]).map(
        (e) => e.limit,
      );
    expect(at('0', 56)).toEqual([55]);
    expect(at('4b', 75)).toEqual([]);
    expect(at('4b', 75.1)).toEqual([75]);
  });
});

describe('noise judge: restart', () => {
  it('a restart in the middle of an hour and of a night neither loses nor double-counts samples', () => {
    // 22:00–06:10 with a loud stretch; the worker dies after 01:29.
    const recs = minutes(bj(22), 8 * 60 + 10, (i) => ({
      leq: i >= 150 && i < 200 ? 62 : 49,
      lmax: i === 100 ? 70 : 60,
    }));
    const whole = brief(events(engine(), recs));
    expect(whole.map((x) => x[0])).toContain('gb3096-2-ln');
    const cut = 3 * 60 + 30; // 01:30
    const before = engine();
    const seen = brief(events(before, recs.slice(0, cut)));
    const after = engine();
    for (const a of before.alarms.open('ns-1')) after.alarms.restore('ns-1', a);
    const from = after.replayable().find((x) => x.measurement === 'noise')!.judge.replayFrom!(recs[cut - 1]!.ts);
    expect(from).toBe(bj(22));
    for (const r of recs.slice(0, cut)) after.replay(r);
    after.replayDone();
    // The gateway re-sends the last two samples (their acks were lost), then goes on.
    expect([...seen, ...brief(events(after, recs.slice(cut - 2)))]).toEqual(whole);
  });
});
