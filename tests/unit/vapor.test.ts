// GB 20952-2020 Appendix E.3.3 and the test scenarios of docs/standards/limits.md §5.3.
import { describe, expect, it } from 'vitest';
import {
  addFuelling,
  concentrationLevel,
  FlatPressure,
  judgeAlDay,
  judgePressureDay,
  type AlTally,
} from '../../standards/vapor.ts';

const tally = (fuellings: [number, number][], carry?: AlTally): AlTally => {
  const t = carry ?? { valid: 0, outsideWarn: 0, outsideAlarm: 0 };
  for (const [al, l] of fuellings) addFuelling(t, al, l);
  return t;
};
const day = (n: number, badShare: number, bad = 0.7): [number, number][] =>
  Array.from({ length: n }, (_, i) => [i < Math.round(n * badShare) ? bad : 1.1, 30]);

describe('vapour recovery A/L', () => {
  it('(a) 30 % of fuellings at A/L 0.7 for 7 days: warning from day 1, alarm on day 7', () => {
    let warnDays = 0;
    const levels: (number | null)[] = [];
    for (let d = 1; d <= 7; d++) {
      const v = judgeAlDay(tally(day(20, 0.3)), warnDays);
      warnDays = v.warnDays;
      levels.push(v.level);
    }
    expect(levels).toEqual([1, 1, 1, 1, 1, 1, 2]);
  });

  it('(b) A/L 0.5 all day: alarm after one natural day', () => {
    expect(judgeAlDay(tally(day(20, 1, 0.5)), 0).level).toBe(2);
  });

  it('A/L-3: every valid A/L of the day below 0.6 or above 1.5 alarms, and the day counts towards the 7-day run', () => {
    expect(judgeAlDay(tally(day(20, 1, 1.6)), 0).level).toBe(2);
    expect(judgeAlDay(tally(day(20, 1, 0.6)), 0).level).toBe(1); // 0.6 is within 0.6–1.5: A/L-1 only
    expect(judgeAlDay(tally(day(20, 0.95, 0.5)), 0).level).toBe(1); // one fuelling of 20 inside
    // Warning days 1–5, an A/L-3 day (6), a warning day (7): the run reaches 7 and alarms (A/L-2).
    const a3 = judgeAlDay(tally(day(20, 1, 0.5)), 5);
    expect(a3).toMatchObject({ level: 2, warnDays: 6 });
    expect(judgeAlDay(tally(day(20, 0.3)), a3.warnDays)).toMatchObject({ level: 2, warnDays: 7 });
  });

  it('(c) 3 fuellings a day are not judged and carry over until there are 5', () => {
    const d1 = judgeAlDay(tally(day(3, 1)), 0);
    expect(d1.level).toBeNull();
    const d2 = judgeAlDay(tally(day(3, 1), d1.carry), d1.warnDays);
    expect(d2.level).toBe(1);
    expect(d2.carry.valid).toBe(0);
  });

  it('counts only fuellings of 15 L or more, and exactly 25 % outside is no warning', () => {
    expect(
      tally([
        [0.5, 14.9],
        [1.1, 15],
      ]).valid,
    ).toBe(1);
    expect(judgeAlDay(tally(day(20, 0.25)), 0).level).toBe(0);
    expect(judgeAlDay(tally(day(20, 0.3)), 3)).toMatchObject({ level: 1, warnDays: 4 });
    expect(judgeAlDay(tally(day(20, 0.1)), 3)).toMatchObject({ level: 0, warnDays: 0 });
  });
});

describe('vapour recovery pressure and concentration', () => {
  it('(d) pressure flat at 0 ± 20 Pa for 13 h: warning; 7 days: alarm', () => {
    const p = new FlatPressure();
    const t0 = Date.UTC(2026, 10, 1, 16);
    for (let s = 0; s <= 13 * 3600; s += 30) p.add(t0 + s * 1000, ((s / 30) % 3) * 20 - 20);
    for (let s = 13 * 3600 + 30; s < 24 * 3600; s += 30) p.add(t0 + s * 1000, 300);
    expect(p.longestMs).toBe(13 * 3_600_000);
    expect(judgePressureDay(p.longestMs, 0)).toEqual({ level: 1, warnDays: 1 });
    expect(judgePressureDay(p.longestMs, 6)).toEqual({ level: 2, warnDays: 7 });
    expect(judgePressureDay(12 * 3_600_000, 6)).toEqual({ level: 0, warnDays: 0 });
  });

  it('a pressure excursion out of the band breaks the flat stretch', () => {
    const p = new FlatPressure();
    const h = 3_600_000;
    // Samples every 30 s: flat 00:00–06:00, one at 80 Pa, flat again 07:00–18:00.
    for (let t = 0; t <= 6 * h; t += 30_000) p.add(t, 10);
    p.add(6 * h + 1, 80);
    for (let t = 6 * h + 30_000; t < 7 * h; t += 30_000) p.add(t, 120);
    for (let t = 7 * h; t <= 18 * h; t += 30_000) p.add(t, 0);
    expect(p.longestMs).toBe(11 * h);
  });

  it('P-1 at the edges: ±50 Pa is in the band; exactly 12 h flat is no warning; a sensor silent for more than 5 minutes breaks the stretch', () => {
    const p = new FlatPressure();
    for (let s = 0; s <= 12 * 3600; s += 30) p.add(s * 1000, s % 60 ? 50 : -50);
    expect(p.longestMs).toBe(12 * 3_600_000);
    expect(judgePressureDay(p.longestMs, 0).level).toBe(0);
    const silent = new FlatPressure();
    silent.add(0, 0);
    silent.add(5 * 60_000, 0); // 5 minutes: still one stretch
    silent.add(13 * 3_600_000, 0); // offline for hours: no evidence the tank stayed flat
    silent.add(13 * 3_600_000 + 30_000, 0);
    expect(silent.longestMs).toBe(5 * 60_000);
  });

  it('concentration: ≥ 4 000 µmol/mol warning, ≥ 8 000 alarm', () => {
    expect([3999, 4000, 7999, 8000].map(concentrationLevel)).toEqual([0, 1, 1, 2]);
  });
});
