// The models of the field-device classes: each a pure function of seed and time with its daily cycle,
// its fault and status states, a forced excursion past the limit the engine judges it by, and only
// registry fields within their plausible ranges. Sample times are pinned (Beijing time).
import { describe, expect, it } from 'vitest';
import { implausible, parseFieldName } from '../../protocol/pollutants.ts';
import { fumesReading } from '../../simulators/models/fumes.ts';
import { nh3SlipReading } from '../../simulators/models/nh3slip.ts';
import { noiseReading } from '../../simulators/models/noise.ts';
import { outfallReading } from '../../simulators/models/outfall.ts';
import type { Reading } from '../../simulators/models/reading.ts';
import { alDrift, fuelling, nozzleIds, vaporRecords, vaporSensors } from '../../simulators/models/vapor.ts';
import { vocReading } from '../../simulators/models/voc.ts';
import { waterReading } from '../../simulators/models/water.ts';
import { TemplateUnit } from '../../simulators/models/template-unit.ts';
import { EMISSION_PROFILES } from '../../standards/emission.ts';
import { NOISE_LIMITS } from '../../standards/noise.ts';
import { waterLimit } from '../../standards/water.ts';

/** A Beijing wall-clock time. */
const bj = (y: number, mo: number, d: number, h: number, mi = 0) => new Date(Date.UTC(y, mo - 1, d, h - 8, mi));
const DAY = 86_400_000;

/** Every minute of a day from `start`. */
const minutes = (start: Date, n = 1440) => Array.from({ length: n }, (_, i) => new Date(start.getTime() + i * 60_000));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function plausible(r: Reading): void {
  for (const [k, v] of Object.entries(r.m)) {
    expect(parseFieldName(k), k).not.toBeNull();
    expect(implausible(k, v), `${k}=${v}`).toBeNull();
  }
  for (const k of Object.keys(r.f)) expect(r.m[k], `flag of ${k} without a value`).toBeDefined();
}

const MODELS: [string, (seed: number, t: Date, x: boolean) => Reading][] = [
  ['fumes', (s, t, x) => fumesReading(s, t, { excursion: x })],
  ['nh3slip', (s, t, x) => nh3SlipReading(s, t, { excursion: x })],
  ['voc', (s, t, x) => vocReading(s, t, { excursion: x })],
  ['water', (s, t, x) => waterReading(s, t, { excursion: x })],
  ['water source', (s, t, x) => waterReading(s, t, { source: true, excursion: x })],
  ['outfall', (s, t, x) => outfallReading(s, t, { excursion: x })],
  ['noise', (s, t, x) => noiseReading(s, t, { excursion: x })],
];

describe.each(MODELS)('%s model', (_name, model) => {
  it('is a pure function of seed and time, with registry fields in their plausible ranges all year', () => {
    for (const start of [bj(2025, 1, 15, 0), bj(2025, 7, 15, 0)])
      for (const seed of [1, 2, 7, 1234])
        for (const t of minutes(start).filter((_, i) => i % 7 === 0)) {
          const r = model(seed, t, false);
          expect(model(seed, new Date(t.getTime()), false)).toEqual(r);
          plausible(r);
          plausible(model(seed, t, true));
        }
  });
  it('differs between seeds', () => {
    const t = bj(2025, 7, 15, 12, 3);
    expect(model(1, t, false).m).not.toEqual(model(2, t, false).m);
  });
});

describe('catering fumes', () => {
  const limit = EMISSION_PROFILES['gb18483-fumes']!.limits.fumes!;
  it('peaks at lunch and dinner and sits near zero with the fan off at night', () => {
    const at = (h: number, mi = 0) =>
      mean([1, 2, 3, 4, 5, 6].map((s) => fumesReading(s, bj(2025, 5, 20, h, mi)).m.fumes!));
    expect(at(12)).toBeGreaterThan(0.2);
    expect(at(18, 45)).toBeGreaterThan(0.2);
    expect(at(4)).toBeLessThan(0.05);
    expect(at(15, 30)).toBeLessThan(0.05);
    expect(fumesReading(1, bj(2025, 5, 20, 4)).fan).toBe(false);
    expect(fumesReading(1, bj(2025, 5, 20, 12)).fan).toBe(true);
  });
  it('treated fumes stay under 2.0 mg/m³ on most lunch minutes; with the purifier off they pass it', () => {
    const lunch = minutes(bj(2025, 5, 20, 11), 180);
    const over = lunch.filter((t) => fumesReading(3, t, {}).purifier && fumesReading(3, t).m.fumes! > limit);
    expect(over.length / lunch.length).toBeLessThan(0.1);
    const forced = fumesReading(3, bj(2025, 5, 20, 4), { excursion: true });
    expect(forced).toMatchObject({ fan: true, purifier: false });
    expect(forced.m.fumes).toBeGreaterThan(limit);
  });
  it('the purifier is left off on some evenings, and those dinners go out untreated', () => {
    const days = Array.from({ length: 200 }, (_, d) => bj(2025, 1, 1, 19).getTime() + d * DAY);
    const off = days.filter((t) => !fumesReading(5, new Date(t)).purifier);
    expect(off.length).toBeGreaterThan(2);
    expect(off.length).toBeLessThan(30);
  });
  it('flags a monthly sensor maintenance between the services', () => {
    const flagged = Array.from({ length: 30 }, (_, d) =>
      fumesReading(9, new Date(bj(2025, 3, 1, 15, 10).getTime() + d * DAY)),
    );
    expect(flagged.filter((r) => r.f.fumes === 'M')).toHaveLength(1);
  });
});

describe('ammonia slip', () => {
  const limit = EMISSION_PROFILES['scr-slip']!.limits.nh3!;
  it('healthy slip stays under the SCR limit and rises as the catalyst ages', () => {
    const byAge = Array.from({ length: 730 }, (_, d) =>
      nh3SlipReading(4, new Date(bj(2024, 1, 1, 14).getTime() + d * DAY)),
    )
      .filter((r) => !r.overInjection)
      .sort((a, b) => a.catalystAge - b.catalystAge);
    for (const r of byAge) expect(r.m.nh3).toBeLessThan(limit);
    expect(mean(byAge.slice(-60).map((r) => r.m.nh3!))).toBeGreaterThan(
      2 * mean(byAge.slice(0, 60).map((r) => r.m.nh3!)),
    );
  });
  it('an over-injection lifts slip past the limit while outlet NOx falls', () => {
    const t = bj(2025, 5, 20, 10);
    const x = nh3SlipReading(4, t, { excursion: true });
    expect(x.m.nh3).toBeGreaterThan(limit);
    expect(x.m.nox).toBeLessThan(nh3SlipReading(4, t).m.nox!);
  });
  it('flags calibration at 02:00 and probe blow-back every 4 h', () => {
    expect(nh3SlipReading(1, bj(2025, 5, 20, 2, 3)).f.nh3).toBe('C');
    expect(nh3SlipReading(1, bj(2025, 5, 20, 4, 2)).f.nh3).toBe('M');
    expect(nh3SlipReading(1, bj(2025, 5, 20, 5, 30)).f.nh3).toBeUndefined();
  });
});

describe('auto-repair VOC', () => {
  // The 1-hour mean's limit (GB 37822 Table A.1: 10 mg/m³; single readings are held to 30).
  const limit = EMISSION_PROFILES['gb37822-voc-1h']!.hourly!.nmhc!;
  it('follows the paint shop’s shifts: spray cycles by day, idle at night and on Sunday', () => {
    const day = minutes(bj(2025, 5, 21, 9), 9 * 60).map((t) => vocReading(2, t)); // a Wednesday
    const night = minutes(bj(2025, 5, 21, 22), 6 * 60).map((t) => vocReading(2, t));
    const sunday = minutes(bj(2025, 5, 25, 9), 9 * 60).map((t) => vocReading(2, t));
    expect(day.some((r) => r.spraying)).toBe(true);
    expect(night.some((r) => r.working || r.spraying)).toBe(false);
    expect(sunday.some((r) => r.working)).toBe(false);
    expect(mean(day.map((r) => r.m.nmhc!))).toBeGreaterThan(1.5 * mean(night.map((r) => r.m.nmhc!)));
    expect(day.every((r) => r.m.thc! > r.m.nmhc!)).toBe(true);
  });
  it('a bypassed treatment passes the 1-h limit; the FID calibrates at 07:00', () => {
    expect(vocReading(2, bj(2025, 5, 21, 23), { excursion: true }).m.nmhc).toBeGreaterThan(limit);
    expect(vocReading(2, bj(2025, 5, 21, 7, 5)).f.nmhc).toBe('C');
  });
});

describe('surface water and drinking-water sources', () => {
  it('DO and pH follow the day’s photosynthesis; the source is cleaner than the river', () => {
    const at = (h: number, source = false) => waterReading(3, bj(2025, 6, 9, h), { source });
    expect(at(15).m.do).toBeGreaterThan(at(5).m.do!);
    expect(at(15).m.ph).toBeGreaterThan(at(5).m.ph!);
    expect(at(12, true).m.nh3n).toBeLessThan(at(12).m.nh3n!);
    expect(at(12, true).m.codmn).toBeLessThan(at(12).m.codmn!);
  });
  it('the DO membrane drifts low until its fortnightly cleaning, which is flagged M and resets it', () => {
    const days = Array.from({ length: 28 }, (_, d) =>
      waterReading(3, new Date(bj(2025, 6, 1, 10, 30).getTime() + d * DAY)),
    );
    const cleanings = days.filter((r) => r.f.do === 'M');
    expect(cleanings).toHaveLength(2);
    for (const r of cleanings) expect(r.doDrift).toBe(0);
    expect(Math.max(...days.map((r) => r.doDrift))).toBeGreaterThan(1.4);
  });
  it('analysers hold a 4-hour result, with one calibration cycle a week', () => {
    expect(waterReading(3, bj(2025, 6, 9, 0, 5)).m.nh3n).toBe(waterReading(3, bj(2025, 6, 9, 3, 55)).m.nh3n);
    const cycles = Array.from({ length: 42 }, (_, i) =>
      waterReading(3, new Date(bj(2025, 6, 2, 1).getTime() + i * 4 * 3_600_000)),
    );
    expect(cycles.filter((r) => r.f.nh3n === 'C')).toHaveLength(1);
  });
  it('an ammonia spill breaks class III on NH3-N and DO', () => {
    const x = waterReading(3, bj(2025, 6, 9, 12), { excursion: true });
    expect(x.m.nh3n).toBeGreaterThan(waterLimit('nh3n', 3)!.limit);
    expect(x.m.do).toBeLessThan(waterLimit('do', 3)!.limit);
  });
});

describe('wastewater outfall', () => {
  it('flow follows the town’s day, the COD analyser calibrates at 02:00, an upset multiplies COD and NH3-N', () => {
    expect(outfallReading(1, bj(2025, 6, 9, 10)).m.water_flow).toBeGreaterThan(
      outfallReading(1, bj(2025, 6, 9, 4)).m.water_flow!,
    );
    expect(outfallReading(1, bj(2025, 6, 9, 2, 5)).f.cod).toBe('C');
    const x = outfallReading(1, bj(2025, 6, 9, 10), { excursion: true });
    expect(x.m.cod).toBeGreaterThan(100);
    expect(x.m.nh3n).toBeGreaterThan(15);
  });
});

describe('noise', () => {
  const zone2 = NOISE_LIMITS['2'];
  it('traffic makes the day: rush hours loud, small hours quiet, within zone 2 most of the time', () => {
    const at = (h: number) => mean([1, 2, 3, 4].map((s) => noiseReading(s, bj(2025, 6, 9, h, 20)).m.leq!));
    expect(at(8)).toBeGreaterThan(at(3) + 8);
    expect(at(3)).toBeLessThan(zone2.night);
    const r = noiseReading(2, bj(2025, 6, 9, 14));
    expect(r.m.l90).toBeLessThan(r.m.l50!);
    expect(r.m.l50).toBeLessThan(r.m.l10!);
    expect(r.m.lmax).toBeGreaterThan(r.m.l10!);
  });
  it('reads the calibrator’s 94 dB tone at 09:00 under flag C; night construction breaks the night limits', () => {
    const c = noiseReading(2, bj(2025, 6, 9, 9, 1));
    expect(c.m.leq).toBe(94);
    expect(c.f.leq).toBe('C');
    const x = noiseReading(2, bj(2025, 6, 9, 23, 30), { excursion: true });
    expect(x.m.leq).toBeGreaterThan(zone2.night);
    expect(x.m.lmax).toBeGreaterThan(zone2.night + 15);
  });
});

describe('vapour recovery', () => {
  const site = { dev: 'vr-0001', seed: 11, nozzles: 4 };
  it('fuellings follow the day, a sixth under 15 L, healthy A/L near 1.10', () => {
    const day = vaporRecords(site, bj(2025, 6, 9, 0).getTime(), bj(2025, 6, 10, 0).getTime());
    const fills = day.filter((r) => r.m.al !== undefined);
    const hourOf = (ts: number) => new Date(ts + 8 * 3_600_000).getUTCHours();
    expect(fills.filter((r) => hourOf(r.ts) === 8).length).toBeGreaterThan(
      fills.filter((r) => hourOf(r.ts) === 3).length,
    );
    const small = fills.filter((r) => r.m.fuel_l! < 15).length / fills.length;
    expect(small).toBeGreaterThan(0.05);
    expect(small).toBeLessThan(0.3);
    expect(new Set(fills.map((r) => r.dev))).toEqual(new Set(nozzleIds(site)));
    expect(day.filter((r) => r.dev === 'vr-0001')).toHaveLength(2880); // pressure every 30 s
    for (const r of day) for (const [k, v] of Object.entries(r.m)) expect(implausible(k, v)).toBeNull();
    expect(vaporRecords(site, bj(2025, 6, 9, 0).getTime(), bj(2025, 6, 10, 0).getTime())).toEqual(day);
  });
  it('records of a span are those of its parts', () => {
    const a = bj(2025, 6, 9, 8).getTime();
    const whole = vaporRecords(site, a, a + 3_600_000);
    const parts = [0, 1, 2, 3].flatMap((i) => vaporRecords(site, a + i * 900_000, a + (i + 1) * 900_000));
    expect(parts).toEqual(whole);
  });
  it('a quarter of the nozzles clog over their service cycle', () => {
    const drifting = Array.from({ length: 400 }, (_, k) =>
      Math.max(...[0, 30, 60, 89].map((d) => alDrift(1, k, bj(2025, 1, 1, 12).getTime() + d * DAY))),
    );
    const share = drifting.filter((d) => d > 0).length / 400;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    expect(Math.max(...drifting)).toBeGreaterThan(0.3);
  });
  it('an excursion fuels every slot at A/L 0.5 and the concentration passes the 8 000 µmol/mol alarm', () => {
    const x = { ...site, options: { excursion: true } };
    const f = fuelling(x, 1, bj(2025, 6, 9, 3).getTime());
    expect(f?.m.al).toBe(0.5);
    expect(vaporSensors(x, bj(2025, 6, 9, 3).getTime()).m.vapor_conc).toBeGreaterThanOrEqual(8000);
  });
});

describe('device-library instruments of these classes', () => {
  const sonde = {
    name: 'S',
    kind: 'water.surface',
    registers: [{ field: 'do', addr: 0, fc: 3, type: 'float32' as const }],
  };
  const meter = { name: 'M', kind: 'noise', registers: [{ field: 'la', addr: 0, fc: 3, type: 'float32' as const }] };
  it("serve their class model's readings: a sonde's DO with its fouling, a sound meter's traffic", () => {
    const t = bj(2025, 6, 9, 15);
    expect(new TemplateUnit(sonde, 5).values(t).do).toBeCloseTo(waterReading(5, t).m.do!, 4);
    expect(new TemplateUnit(meter, 5).values(t).la).toBeCloseTo(noiseReading(5, t).m.leq!, 4);
  });
  it('serve no flagged reading: the calibrator tone stays off the wire, where status words say nothing is wrong', () => {
    const t = bj(2025, 6, 9, 9, 1);
    expect(noiseReading(5, t).m.leq).toBe(94);
    expect(new TemplateUnit(meter, 5).values(t).la).toBeLessThan(90);
  });
});
