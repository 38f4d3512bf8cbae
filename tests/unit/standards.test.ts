import { describe, expect, it } from 'vitest';
import { dailyMax8h, dailyMean, eightHourMean, hourlyMean, type Sample } from '../../standards/averages.ts';
import { EMISSION_PROFILES, ppmToMgM3, toReferenceO2 } from '../../standards/emission.ts';
import { gb3095Limit, limitSetAt } from '../../standards/gb3095.ts';
import { checkNoise, isNight, NOISE_LIMITS } from '../../standards/noise.ts';
import { waterClass, waterLimit } from '../../standards/water.ts';

describe('GB 3095 limits (docs/standards/limits.md §1)', () => {
  it('chooses 2012, 2026 transition and 2026 final limits by time (Beijing)', () => {
    expect(limitSetAt(Date.parse('2026-02-28T15:59:59Z'))).toBe('2012');
    expect(limitSetAt(Date.parse('2026-02-28T16:00:00Z'))).toBe('2026-transition');
    expect(limitSetAt(Date.parse('2030-12-31T16:00:00Z'))).toBe('2026-final');
  });

  it.each([
    ['so2', '1h', 2, '2012', 500],
    ['so2', '24h', 1, '2012', 50],
    ['no2', '1h', 2, '2012', 200],
    ['co', '24h', 2, '2012', 4],
    ['o3', '8h_max', 2, '2012', 160],
    ['o3', '1h', 1, '2012', 160],
    ['pm10', '24h', 2, '2012', 150],
    ['pm25', '24h', 2, '2012', 75],
    ['pm25', 'annual', 2, '2012', 35],
    ['tsp', '24h', 2, '2012', 300],
    ['nox', '1h', 1, '2012', 250],
    ['pm25', '24h', 2, '2026-transition', 60],
    ['pm10', '24h', 2, '2026-transition', 120],
    ['pm25', 'annual', 2, '2026-transition', 30],
    ['so2', '24h', 2, '2026-transition', 150],
    ['pm25', '24h', 2, '2026-final', 50],
    ['pm25', '24h', 1, '2026-final', 25],
    ['pm10', 'annual', 2, '2026-final', 50],
    ['no2', '24h', 2, '2026-final', 50],
    ['so2', '1h', 2, '2026-final', 150],
    ['nox', '24h', 2, '2026-final', 70],
  ] as const)('%s %s grade %d under %s = %d', (p, avg, grade, set, want) => {
    expect(gb3095Limit(p, avg, grade, set)).toBe(want);
  });

  it('has no limit where the standard sets none', () => {
    expect(gb3095Limit('co', 'annual', 2, '2012')).toBeUndefined();
  });
});

describe('valid means (docs/standards/aqi.md §2)', () => {
  const h0 = Date.UTC(2026, 0, 10, 2);
  const minutes = (n: number, flag?: string): Sample[] =>
    Array.from({ length: n }, (_, i) => ({ ts: h0 + i * 60_000, value: 10 + (i % 2), ...(flag ? { flag } : {}) }));

  it('an hourly mean needs 45 minutes of usable data', () => {
    expect(hourlyMean(minutes(45), h0)).toMatchObject({ valid: true, count: 45 });
    expect(hourlyMean(minutes(44), h0)).toMatchObject({ valid: false, count: 44 });
    expect(hourlyMean(minutes(60), h0).value).toBeCloseTo(10.5);
  });

  it('leaves out F, M, D, C and B data, and keeps and marks T', () => {
    const s = [...minutes(40), ...minutes(20, 'D').map((x) => ({ ...x, ts: x.ts + 40 * 60_000 }))];
    expect(hourlyMean(s, h0)).toMatchObject({ valid: false, count: 40 });
    const t = [...minutes(40), ...minutes(20, 'T').map((x) => ({ ...x, ts: x.ts + 40 * 60_000 }))];
    expect(hourlyMean(t, h0)).toMatchObject({ valid: true, count: 60, marked: true });
    for (const f of ['F', 'M', 'C', 'B']) expect(hourlyMean(minutes(60, f), h0).valid).toBe(false);
  });

  it('ignores samples outside the hour', () => {
    expect(hourlyMean([{ ts: h0 - 1, value: 999 }, ...minutes(50)], h0).value).toBeCloseTo(10.5);
  });

  it('a 24-hour mean needs 20 hourly means; an 8-hour mean 6 of 8', () => {
    const day = Array.from({ length: 24 }, (_, i) => (i < 20 ? 40 : null));
    expect(dailyMean(day)).toMatchObject({ value: 40, valid: true, count: 20 });
    expect(dailyMean(day.map((v, i) => (i === 0 ? null : v)))).toMatchObject({ valid: false, count: 19 });
    const h = [1, 2, 3, 4, 5, 6, null, null];
    expect(eightHourMean(h, 7)).toMatchObject({ value: 3.5, valid: true });
    expect(eightHourMean([1, 2, 3, 4, 5, null, null, null], 7).valid).toBe(false);
  });

  it('the daily maximum 8-hour mean is the largest valid moving mean', () => {
    const o3 = Array.from({ length: 24 }, (_, i) => 50 + 10 * Math.max(0, 8 - Math.abs(i - 14)));
    const m = dailyMax8h(o3);
    expect(m.valid).toBe(true);
    // The peak is centred on hour 14: the windows ending at 17 and 18 both average 110, none more.
    expect(m.value).toBeCloseTo(110);
  });
});

describe('emission limits and reference O2 (docs/standards/limits.md §2)', () => {
  it('converts to the reference O2 (worked vectors: 45 @ 7.5 % → 50.00; 46 @ 8 % → 53.08)', () => {
    expect(toReferenceO2(45, 7.5, 6)).toBeCloseTo(50, 10);
    expect(Math.round(toReferenceO2(46, 8, 6) * 100) / 100).toBe(53.08);
    expect(() => toReferenceO2(10, 21, 6)).toThrow(/outside 0 … <21/);
  });

  it('holds ultra-low, GB 13271 and ammonia limits as data', () => {
    expect(EMISSION_PROFILES['ultra-low']).toMatchObject({ o2Ref: 6, limits: { dust: 10, so2: 35, nox: 50 } });
    expect(EMISSION_PROFILES['gb13271-special-gas']).toMatchObject({
      o2Ref: 3.5,
      limits: { dust: 20, so2: 50, nox: 150 },
    });
    expect(EMISSION_PROFILES['gb13271-in-use-coal']).toMatchObject({
      o2Ref: 9,
      limits: { dust: 80, so2: 400, nox: 400 },
    });
    expect(EMISSION_PROFILES['gb13271-new-oil']!.limits).toMatchObject({ dust: 30, so2: 200, nox: 250 });
    expect(EMISSION_PROFILES['gb4915-kiln']).toMatchObject({ o2Ref: 10, limits: { nh3: 10 } });
    expect(EMISSION_PROFILES['gb18483-fumes']!.limits.fumes).toBe(2.0);
  });

  it('converts ppm at standard state (3 ppm NH3 = 2.28 mg/m³)', () => {
    expect(ppmToMgM3(3, 17.03)).toBeCloseTo(2.28, 2);
  });
});

describe('GB 3838 water classes (docs/standards/limits.md §6)', () => {
  it('takes the worst parameter, with DO as a lower bound', () => {
    expect(waterClass({ do: 7.6, codmn: 1.5, nh3n: 0.1 }).cls).toBe(1);
    expect(waterClass({ do: 5.5, codmn: 1.5 }).by).toEqual({ do: 3, codmn: 1 });
    expect(waterClass({ do: 1.9 }).cls).toBe(6);
    expect(waterClass({ nh3n: 2.01 }).cls).toBe(6);
    expect(waterClass({ cod: 15 }).cls).toBe(1);
  });

  it('uses the river or lake TP column, and TN for lakes only', () => {
    expect(waterClass({ tp: 0.05 }, 'river').cls).toBe(2);
    expect(waterClass({ tp: 0.05 }, 'lake').cls).toBe(3);
    expect(waterClass({ tn: 1.2 }, 'river').by).toEqual({});
    expect(waterClass({ tn: 1.2 }, 'lake').cls).toBe(4);
  });

  it('puts pH outside 6–9 worse than V, and gives limits for a target class', () => {
    expect(waterClass({ ph: 9.2 }).cls).toBe(6);
    expect(waterLimit('do', 3)).toEqual({ bound: 'min', limit: 5 });
    expect(waterLimit('tp', 3, 'lake')).toEqual({ bound: 'max', limit: 0.05 });
    expect(waterLimit('tn', 3, 'river')).toBeUndefined();
  });
});

describe('GB 3096 noise (docs/standards/limits.md §7)', () => {
  const at = (h: number) => Date.UTC(2026, 5, 1, h - 8, 30); // h:30 Beijing time
  it('knows day and night in Beijing time', () => {
    expect(isNight(at(22))).toBe(true);
    expect(isNight(at(5))).toBe(true);
    expect(isNight(at(6))).toBe(false);
    expect(isNight(at(21))).toBe(false);
  });

  it('checks L_eq against the zone limit and, at night, L_max against limit + 15', () => {
    expect(NOISE_LIMITS['4a']).toEqual({ day: 70, night: 55 });
    expect(NOISE_LIMITS['4b']).toEqual({ day: 70, night: 60 });
    expect(checkNoise('2', at(12), 60, 90)).toMatchObject({
      period: 'day',
      limit: 60,
      leqOver: false,
      lmaxOver: false,
    });
    expect(checkNoise('2', at(12), 60.1)).toMatchObject({ leqOver: true });
    expect(checkNoise('1', at(23), 44, 61)).toMatchObject({
      period: 'night',
      limit: 45,
      leqOver: false,
      lmaxLimit: 60,
      lmaxOver: true,
    });
    expect(checkNoise('1', at(23), 44, 60)).toMatchObject({ lmaxOver: false });
  });
});

describe('heavy-pollution warning levels, hohhot-2019 (docs/standards/aqi.md §9)', async () => {
  const { warningLevel } = await import('../../standards/warnings.ts');
  const hours = (n: number, v: number) => Array<number>(n).fill(v);
  it.each([
    ['none', [80, 90]],
    ['pre-warning: AQI > 150', [120, 160]],
    ['pre-warning: AQI > 100 for 48 h', hours(48, 110)],
    ['none: AQI > 100 for 47 h', hours(47, 110)],
    ['pre-warning: > 200 for 47 h', hours(47, 210)],
    ['yellow: > 200 for 48 h', hours(48, 210)],
    ['orange: > 200 for 72 h', hours(72, 210)],
    ['orange: > 200 for 96 h but > 300 for only 47 h', [...hours(49, 210), ...hours(47, 310)]],
    ['red: > 200 for 96 h with > 300 for 48 h', [...hours(48, 210), ...hours(48, 310)]],
    ['red: AQI 500', [90, 500]],
    ['yellow: a dip to 200 restarts the count', [...hours(30, 250), 200, ...hours(48, 250)]],
  ] as const)('%s', (name, series) => {
    expect(warningLevel([...series])).toBe(name.split(':')[0]);
  });
});

describe('hour accumulator', async () => {
  const { HourAccumulator, hourlyMean } = await import('../../standards/averages.ts');
  it('agrees with hourlyMean on the same samples', () => {
    const h0 = Date.UTC(2026, 0, 10, 2);
    const samples = Array.from({ length: 3600 }, (_, i) => ({
      ts: h0 - 30_000 + i * 1100,
      value: (i * 7) % 50,
      ...(i % 13 === 0 ? { flag: 'D' } : i % 17 === 0 ? { flag: 'T' } : {}),
    }));
    const acc = new HourAccumulator(h0);
    for (const s of samples) acc.add(s.ts, s.value, s.flag);
    expect(acc.mean()).toEqual(hourlyMean(samples, h0));
    expect(acc.mean().marked).toBe(true);
  });
});
