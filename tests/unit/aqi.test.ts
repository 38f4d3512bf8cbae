import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeAqi,
  editionAt,
  iaqi,
  roundHalfEven,
  type AqiInput,
  type Edition,
  type Report,
} from '../../standards/aqi.ts';
import { BREAKPOINTS } from '../../standards/aqi-tables.ts';

const bp = BREAKPOINTS['2012'];

describe('HJ 633 worked examples (docs/standards/aqi.md §8)', () => {
  it('example 1: daily, 2012 → AQI 107, III, PM2.5 primary and exceeding', () => {
    const r = computeAqi({ pm25: 80, pm10: 120, so2: 20, no2: 50, co: 1.2, o3_8h: 140, o3_1h: 180 }, '2012', 'daily');
    expect(r.iaqi).toEqual({ 'PM2.5': 107, PM10: 85, SO2: 20, NO2: 63, CO: 30, O3_8h: 84, O3_1h: 75 });
    expect(r.aqi).toBe(107);
    expect(r.level).toMatchObject({ level: 3, zh: '轻度污染', colour: 'orange', rgb: '#FF7E00' });
    expect(r.primary).toEqual(['PM2.5']);
    expect(r.exceeding).toEqual(['PM2.5']);
  });

  it('example 1 under 2026 rules → PM2.5 119, PM10 100, no O3 1-h, AQI 119', () => {
    const r = computeAqi({ pm25: 80, pm10: 120, so2: 20, no2: 50, co: 1.2, o3_8h: 140, o3_1h: 180 }, '2026', 'daily');
    expect(r.iaqi['PM2.5']).toBe(119);
    expect(r.iaqi.PM10).toBe(100);
    expect(r.iaqi).not.toHaveProperty('O3_1h');
    expect(r.aqi).toBe(119);
    expect(r.primary).toEqual(['PM2.5']);
    expect(r.exceeding).toBeUndefined();
  });

  it('example 2: a tie at the Grade II limit → AQI 100, two primary pollutants, none exceeding', () => {
    const r = computeAqi({ pm25: 75, pm10: 150, so2: 10, no2: 30, co: 0.6, o3_8h: 90, o3_1h: 120 }, '2012', 'daily');
    expect(r.iaqi).toEqual({ 'PM2.5': 100, PM10: 100, SO2: 10, NO2: 38, CO: 15, O3_8h: 45, O3_1h: 38 });
    expect(r.level).toMatchObject({ level: 2, zh: '良', rgb: '#FFFF00' });
    expect(r.primary).toEqual(['PM10', 'PM2.5']);
    expect(r.exceeding).toEqual([]);
  });

  const ex3: AqiInput = { so2: 900, so2_24h: 300, no2: 80, co: 1.0, o3_1h: 60, o3_8h: 50, pm10: 60, pm25: 30 };
  it('example 3: real-time, SO2 1-h > 800 takes the 24-h mean (2012) → AQI 124', () => {
    const r = computeAqi(ex3, '2012', 'hourly');
    expect(r.iaqi).toEqual({ SO2: 124, NO2: 40, CO: 10, O3_1h: 19, O3_8h: 25, PM10: 55, 'PM2.5': 43 });
    expect(r.aqi).toBe(124);
    expect(r.primary).toEqual(['SO2']);
    expect(r.exceeding).toEqual(['SO2']);
  });

  it('example 3 under 2026 rules: SO2 1-h > 800 is IAQI 200 → AQI 200, IV, red', () => {
    const r = computeAqi(ex3, '2026', 'hourly');
    expect(r.iaqi.SO2).toBe(200);
    expect(r.aqi).toBe(200);
    expect(r.level).toMatchObject({ level: 4, zh: '中度污染', colour: 'red' });
  });

  const ex4: AqiInput = { o3_8h: 850, o3_1h: 900, pm25: 20, pm10: 40, so2: 8, no2: 25, co: 0.5 };
  it('example 4: O3 8-h > 800 takes the 1-h value (2012) → AQI 350, VI, maroon', () => {
    const r = computeAqi(ex4, '2012', 'daily');
    expect(r.iaqi).toEqual({ O3_1h: 350, 'PM2.5': 29, PM10: 40, SO2: 8, NO2: 32, CO: 13 });
    expect(r.aqi).toBe(350);
    expect(r.level).toMatchObject({ level: 6, zh: '严重污染', colour: 'maroon', rgb: '#7E0023' });
    expect(r.primary).toEqual(['O3']);
    expect(r.exceeding).toEqual(['O3']);
  });

  it('example 4 under 2026 rules: O3 8-h > 800 is IAQI 300 → AQI 300, V, purple', () => {
    const r = computeAqi(ex4, '2026', 'daily');
    expect(r.iaqi.O3).toBe(300);
    expect(r.aqi).toBe(300);
    expect(r.level).toMatchObject({ level: 5, zh: '重度污染', rgb: '#99004C' });
  });

  it('example 5: IAQI is rounded up (PM2.5 40 → 57, not 56)', () => {
    expect(computeAqi({ pm25: 40 }, '2012', 'daily').iaqi['PM2.5']).toBe(57);
  });

  it('example 6: AQI ≤ 50 has no primary pollutant', () => {
    const r = computeAqi({ pm25: 20, pm10: 45, so2: 8, no2: 30, co: 0.4, o3_8h: 70, o3_1h: 90 }, '2012', 'daily');
    expect(r.iaqi).toEqual({ 'PM2.5': 29, PM10: 45, SO2: 8, NO2: 38, CO: 10, O3_8h: 35, O3_1h: 29 });
    expect(r.aqi).toBe(45);
    expect(r.level).toMatchObject({ level: 1, zh: '优', rgb: '#00E400' });
    expect(r.primary).toEqual([]);
  });

  it.each([
    ['pm25_24h', 35, 50],
    ['pm25_24h', 115, 150],
    ['pm25_24h', 500, 500],
    ['so2_1h', 800, 200],
    ['o3_8h', 800, 300],
    ['co_24h', 4.5, 103],
  ] as const)('boundary: %s %d → %d', (col, c, want) => {
    expect(iaqi(c, bp[col]).value).toBe(want);
  });

  it('caps beyond the table at 500 and says so', () => {
    expect(iaqi(600, bp.pm25_24h)).toEqual({ value: 500, capped: true });
    expect(computeAqi({ pm25: 600 }, '2012', 'daily').notes.join()).toMatch(/beyond the table/);
  });
});

describe('2012 vs 2026', () => {
  it('chooses the edition by observation time: 2026-03-01 00:00 Beijing time', () => {
    expect(editionAt(Date.parse('2026-02-28T15:59:59.999Z'))).toBe('2012');
    expect(editionAt(Date.parse('2026-02-28T16:00:00Z'))).toBe('2026');
  });

  it('moves the PM IAQI-100 breakpoints (PM2.5 75 → 60, PM10 150 → 120)', () => {
    expect(computeAqi({ pm25: 75 }, '2012', 'daily').iaqi['PM2.5']).toBe(100);
    expect(computeAqi({ pm25: 75 }, '2026', 'daily').iaqi['PM2.5']).toBe(114);
    expect(computeAqi({ pm10: 150 }, '2026', 'daily').iaqi.PM10).toBe(112);
    expect(computeAqi({ pm25: 60 }, '2026', 'daily').iaqi['PM2.5']).toBe(100);
  });

  it('rounds concentrations before the IAQI in 2026 only (half to even)', () => {
    expect(roundHalfEven(60.5)).toBe(60);
    expect(roundHalfEven(61.5)).toBe(62);
    expect(roundHalfEven(1.25, 1)).toBe(1.2);
    expect(roundHalfEven(1.35, 1)).toBe(1.4);
    expect(computeAqi({ pm25: 60.11 }, '2026', 'daily').iaqi['PM2.5']).toBe(100);
    expect(computeAqi({ pm25: 60.11 }, '2012', 'daily').iaqi['PM2.5']).toBe(82); // raw 81.39, no rounding of the input
  });

  it('publishes NA for incomplete 2026 data unless the AQI is above 100', () => {
    expect(computeAqi({ pm25: 40 }, '2026', 'daily')).toMatchObject({ aqi: 60, complete: false, published: 'NA' });
    expect(computeAqi({ pm25: 80 }, '2026', 'daily')).toMatchObject({ aqi: 119, complete: false, published: 119 });
    expect(computeAqi({ pm25: 40 }, '2012', 'daily')).toMatchObject({ aqi: 57, complete: false, published: 57 });
  });

  it('leaves out negative and non-finite inputs with a note', () => {
    const r = computeAqi({ pm25: 35, o3_1h: -1 }, '2026', 'hourly');
    expect(r.iaqi).toEqual({ 'PM2.5': 50 });
    expect(r.notes).toContain('o3_1h -1 is invalid and was left out');
  });
});

interface Vector {
  id: string;
  edition: Edition;
  report: Report;
  inputs: AqiInput;
  recomputed: {
    iaqi: Record<string, number>;
    aqi: number;
    primary: string[];
    level: number;
    exceeding?: string[];
    published?: number | 'NA';
  };
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/aqi-vectors.json', import.meta.url), 'utf8')) as Vector[];

describe('public AQI vectors (tests/fixtures/aqi-vectors.json; where a source disagrees, `recomputed` is right)', () => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const r = computeAqi(v.inputs, v.edition, v.report);
    const want = v.recomputed;
    // The vectors name the 2012 O3 indicators O3_1h / O3_8h, and O3 in 2026, as we do.
    expect(r.iaqi).toEqual(want.iaqi);
    expect(r.aqi).toBe(want.aqi);
    expect(r.primary).toEqual(want.primary);
    expect(r.level?.level).toBe(want.level);
    if (want.exceeding) expect(r.exceeding).toEqual(want.exceeding);
    if (want.published !== undefined) expect(r.published).toBe(want.published);
  });
});
