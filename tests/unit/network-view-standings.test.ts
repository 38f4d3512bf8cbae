// How a live reading stands against its limit, as the console's readings tables show it (console/limits.ts).
import { describe, expect, it } from 'vitest';
import { standings } from '../../console/limits.ts';

const BJ = (h: number) => Date.UTC(2026, 5, 15, h - 8); // h:00 Beijing on 2026-06-15

describe('live readings against their limits', () => {
  it("holds a smokestack's measured SO2 against its profile after converting it to the reference O2", () => {
    // Ultra-low: SO2 35 mg/m³ at 6 % O2. 28 at 9 % O2 is 28 × 15 / 12 = 35: at the limit.
    const at9 = standings('stack.cems', undefined, BJ(10), { so2: 28, o2: 9 });
    expect(at9.so2).toMatchObject({ judged: 35, share: 1, converted: true, limit: { value: 35 } });
    expect(at9.o2).toBeUndefined();
    // An instrument's own converted value is taken as it is; a profile from the devices file wins.
    const zs = standings('stack.cems', { profile: 'ultra-low', limits: { so2: 30 } }, BJ(10), { so2_zs: 33, o2: 9 });
    expect(zs.so2_zs).toMatchObject({ judged: 33, share: 1.1, converted: false, limit: { value: 30 } });
  });

  it('holds air readings against GB 3095 and water readings against the section’s target class', () => {
    expect(standings('air.micro', undefined, BJ(10), { so2: 250 }).so2).toMatchObject({ share: 0.5 });
    // Class II target: DO at least 6 mg/L, so 4 is past the minimum (share 1.5); class III would ask 5.
    const w = standings('water.surface', { targetClass: 2 }, BJ(10), { do: 4 });
    expect(w.do).toMatchObject({ share: 1.5, limit: { value: 6, min: true, source: 'gb3838-II' } });
    expect(standings('water.surface', undefined, BJ(10), { do: 4 }).do).toMatchObject({ limit: { value: 5 } });
  });

  it("holds noise against its zone's day or night limit, and Lmax at night 15 dB(A) above it", () => {
    const night = standings('noise', { noiseZone: '1' }, BJ(23), { leq: 50, lmax: 62 });
    expect(night.leq).toMatchObject({ limit: { value: 45 } });
    expect(night.leq!.share).toBeCloseTo(50 / 45);
    expect(night.lmax).toMatchObject({ limit: { value: 60 } });
    const day = standings('noise', { noiseZone: '1' }, BJ(10), { leq: 50, lmax: 62 });
    expect(day.leq).toMatchObject({ limit: { value: 55 } });
    expect(day.lmax).toBeUndefined();
    expect(standings('noise', undefined, BJ(10), { leq: 50 })).toEqual({});
  });

  it('takes the limit an open alarm was judged by over the table', () => {
    const s = standings('air.micro', undefined, BJ(10), { so2: 250 }, [
      { field: 'so2', limit: 150, rule: 'gb3095-1h' },
    ]);
    expect(s.so2).toMatchObject({ share: 250 / 150, limit: { value: 150, source: 'gb3095-1h' } });
  });
});
