// Every field-device class end to end through one pipeline: each class's simulator → its field path
// (HJ 212 data loggers with the class's ST and codes; vapour-recovery stations through a platform
// pushing to the http link) → gateway → Aedes → ingest (a child process) → influxd. Every stored value
// is checked against the model at its pinned sample time, hourly data against the logger's statistics,
// and each class's forced excursion against the rule the engine judges the class by.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { pollutantByCode } from '../../protocol/pollutants.ts';
import { fieldSites, type FieldSite, type LoggerClass } from '../../simulators/field-sites.ts';
import { Hj212Logger } from '../../simulators/hj212-logger.ts';
import { fuelling, nozzleIds, vaporSensors, type VaporSite } from '../../simulators/models/vapor.ts';
import { postRecords } from '../../simulators/rsd-push.ts';
import { EMISSION_PROFILES } from '../../standards/emission.ts';
import { NOISE_LIMITS } from '../../standards/noise.ts';
import { waterLimit } from '../../standards/water.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
/** A Beijing wall-clock time on Monday 9 June 2025: before every date the suite runs at. */
const bj = (h: number, m = 0) => Date.UTC(2025, 5, 9, h - 8, m);

const CLASSES: LoggerClass[] = [
  'fumes',
  'stack.nh3slip',
  'voc',
  'water.surface',
  'water.source',
  'water.outfall',
  'noise',
];
const sites = new Map<LoggerClass, FieldSite>(CLASSES.map((c, i) => [c, fieldSites(c, 1, 711 + i)[0]!]));
const site = (c: LoggerClass) => sites.get(c)!;
/** Noise is judged against the night limits at 23:00; the rest at lunchtime, when kitchens and shops work. */
const startOf = (c: LoggerClass) => (c === 'noise' ? bj(23) : bj(12));
/** Five normal samples a minute apart, then two forced excursions. */
const NORMAL = 5;
const FORCED = 2;

const vapor: VaporSite = { dev: 'vr-0001', seed: 77, nozzles: 2 };
const MEASUREMENT: Record<string, string> = {
  fumes: 'fumes',
  'stack.nh3slip': 'nh3slip',
  voc: 'voc',
  'water.surface': 'water',
  'water.source': 'water',
  'water.outfall': 'water',
  noise: 'noise',
};

const p = new Pipeline({
  stations: 0,
  hj212: [...sites.values()].map((s) => ({ id: s.id, kind: s.kind, mn: s.mn, ...(s.codes ? { codes: s.codes } : {}) })),
  rsd: [vapor.dev, ...nozzleIds(vapor)].map((id) => ({ id, kind: 'vapor' })),
  ingestArgs: ['--alarm-open-s', '0', '--alarm-close-s', '0'],
});
const loggers: Hj212Logger[] = [];

beforeAll(async () => {
  await p.start();
}, 60_000);
afterAll(async () => {
  for (const l of loggers) l.stop();
  await p.stop();
});

const rows = (q: string) => p.influx.rows(q);

describe('every field-device class through the pipeline', () => {
  it('HJ 212 loggers of each class: real-time values and flags as the model gave them, hourly data as the logger computed them', async () => {
    for (const s of sites.values()) {
      const l = new Hj212Logger({
        host: '127.0.0.1',
        port: p.hj212Port,
        mn: s.mn,
        st: s.st,
        intervalMs: s.intervalMs,
        factors: s.factors,
      }).open();
      loggers.push(l);
      const t0 = startOf(s.cls);
      for (let i = 0; i < NORMAL; i++) l.upload('2011', t0 + i * MIN, s.factors(new Date(t0 + i * MIN)));
      const hour = s.aggregates.find((a) => a.cn === '2061')!;
      l.upload('2061', t0 - HOUR, hour.factors(t0 - HOUR, HOUR));
    }
    await waitFor('every upload answered', () => loggers.every((l) => l.unanswered === 0), 30_000);
    for (const s of sites.values()) {
      const m = MEASUREMENT[s.cls]!;
      const t0 = startOf(s.cls);
      await waitFor(
        `${s.id}'s records in InfluxDB`,
        async () => (await rows(`SELECT * FROM ${m} WHERE dev = '${s.id}'`)).length === NORMAL + 1,
        20_000,
      );
      const stored = await rows(`SELECT * FROM ${m} WHERE dev = '${s.id}'`);
      expect(stored, s.id).toHaveLength(NORMAL + 1);
      const byTime = new Map(stored.map((r) => [r.time as number, r]));
      for (let i = 0; i < NORMAL; i++) {
        const t = t0 + i * MIN;
        const want = s.reading(new Date(t));
        const row = byTime.get(t)!;
        expect(row, `${s.id} at ${new Date(t).toISOString()}`).toMatchObject({ kind: s.kind, gw: p.gwId, ...want.m });
        for (const [k, flag] of Object.entries(want.f)) expect(row[`${k}_flag`]).toBe(flag);
      }
      // Hourly data: each statistic of each factor, under its registry name.
      const hourRow = byTime.get(t0 - HOUR)!;
      expect(hourRow.agg).toBe('hour');
      const codesBack = Object.fromEntries(Object.entries(s.codes ?? {}).map(([k, c]) => [c, k]));
      const hourly = s.aggregates.find((a) => a.cn === '2061')!.factors(t0 - HOUR, HOUR);
      for (const [code, fields] of Object.entries(hourly)) {
        const key = codesBack[code] ?? pollutantByCode(code)!.key;
        for (const [suffix, v] of Object.entries(fields))
          if (suffix !== 'Flag') expect(hourRow[`${key}_${suffix.toLowerCase()}`], `${s.id} ${code}-${suffix}`).toBe(v);
      }
    }
  });

  it('vapour recovery: fuellings and station sensors pushed through the http link are stored as sent', async () => {
    const from = bj(8);
    const recs: SampleRecord[] = [];
    for (let slot = from; slot < from + HOUR; slot += 4 * MIN)
      for (let k = 1; k <= vapor.nozzles; k++) {
        const f = fuelling(vapor, k, slot);
        if (f) recs.push(f);
      }
    for (let t = from; t < from + 10 * MIN; t += 30_000) recs.push(vaporSensors(vapor, t));
    expect(recs.filter((r) => r.m.al !== undefined).length).toBeGreaterThan(3);
    expect(await postRecords({ url: p.pushUrl, token: p.pushToken }, recs)).toBe(recs.length);
    await waitFor(
      'every vapour record in InfluxDB',
      async () =>
        (await rows(`SELECT * FROM vapor WHERE time >= ${from}ms AND time < ${from + HOUR}ms`)).length === recs.length,
      20_000,
    );
    const stored = await rows(`SELECT * FROM vapor WHERE time >= ${from}ms AND time < ${from + HOUR}ms`);
    for (const r of recs) {
      const row = stored.find((x) => x.dev === r.dev && x.time === r.ts);
      expect(row, `${r.dev} ${r.ts}`).toMatchObject({ kind: 'vapor', ...r.m });
    }
  });

  it("each class's forced excursion is judged by its rule", async () => {
    for (const [i, s] of [...sites.values()].entries()) {
      s.excursion = true;
      const t0 = startOf(s.cls) + NORMAL * MIN;
      // The pinned times miss the analysers' calibrations and maintenance: what is forced is judged.
      expect(s.reading(new Date(t0)).f, s.id).toEqual({});
      // Noise and NMHC are judged on hourly means of at least 45 minutes: those get an hour of it,
      // closed by a sample of the next hour.
      const n = s.cls === 'noise' || s.cls === 'voc' ? 50 : FORCED;
      for (let k = 0; k < n; k++) loggers[i]!.upload('2011', t0 + k * MIN, s.factors(new Date(t0 + k * MIN)));
      s.excursion = false;
      if (n > FORCED) loggers[i]!.upload('2011', startOf(s.cls) + HOUR, s.factors(new Date(startOf(s.cls) + HOUR)));
    }
    // Vapour: two days of fuellings all at A/L 0.5 on nozzle 1 (each judged when the next day begins; the
    // first still holds the fuellings carried over from the day before), and the unloading point's
    // concentration past 8 000 µmol/mol (judged at once).
    const blocked: VaporSite = { ...vapor, options: { excursion: true } };
    const day: SampleRecord[] = [];
    const next = bj(0) + 86_400_000;
    for (let slot = next; slot <= next + 2 * 86_400_000; slot += 4 * MIN) day.push(fuelling(blocked, 1, slot)!);
    day.push(vaporSensors(blocked, bj(9)));
    expect(await postRecords({ url: p.pushUrl, token: p.pushToken }, day)).toBe(day.length);

    // An alarm that opens, or a one-off event (night Lmax: each loud sample is an event of its own).
    const open = (dev: string, field: string) =>
      p.alerts.find((e) => e.dev === dev && e.field === field && (e.state === 'open' || e.state === 'event'));
    const expected: [string, string, number, 'max' | 'min'][] = [
      [site('fumes').id, 'fumes', EMISSION_PROFILES['gb18483-fumes']!.limits.fumes!, 'max'],
      [site('stack.nh3slip').id, 'nh3', EMISSION_PROFILES['scr-slip']!.limits.nh3!, 'max'],
      [site('voc').id, 'nmhc', EMISSION_PROFILES['gb37822-voc-1h']!.hourly!.nmhc!, 'max'],
      [site('water.surface').id, 'nh3n', waterLimit('nh3n', 3)!.limit, 'max'],
      [site('water.surface').id, 'do', waterLimit('do', 3)!.limit, 'min'],
      [site('water.source').id, 'nh3n', waterLimit('nh3n', 3)!.limit, 'max'],
      [site('noise').id, 'leq', NOISE_LIMITS['2'].night, 'max'],
      [site('noise').id, 'lmax', NOISE_LIMITS['2'].night + 15, 'max'],
      ['vr-0001', 'vapor_conc', 0.5, 'max'],
      ['vr-0001-n1', 'al', 0.5, 'max'],
    ];
    await waitFor('an alarm for every forced excursion', () => expected.every(([d, f]) => open(d, f)), 30_000).catch(
      (e: Error) => {
        throw new Error(
          `${e.message}; alarms: ${JSON.stringify(p.alerts.map((a) => [a.dev, a.rule, a.field, a.state]))}`,
        );
      },
    );
    for (const [dev, field, limit, bound] of expected) {
      const a = open(dev, field)!;
      expect(a.limit, `${dev} ${field}`).toBe(limit);
      if (bound === 'max') expect(a.value).toBeGreaterThan(limit);
      else expect(a.value).toBeLessThan(limit);
    }
    // A/L 0.5 all of a day is GB 20952's immediate alarm (level 2), after the warning (level 1) of the
    // day that held normal fuellings too; the concentration ≥ 8 000 µmol/mol is an alarm at once.
    const latest = (dev: string, field: string) =>
      p.alerts.filter((e) => e.dev === dev && e.field === field && e.state !== 'close').at(-1);
    await waitFor('the A/L alarm level', () => latest('vr-0001-n1', 'al')?.value === 2, 20_000);
    expect(latest('vr-0001', 'vapor_conc')!.value).toBe(2);
    // The outfall's upset is stored; outfalls are judged by GB 3838 until they have discharge limits of their own.
    const upsetRows = () =>
      rows(
        `SELECT cod, nh3n FROM water WHERE dev = '${site('water.outfall').id}' AND time >= ${bj(12) + NORMAL * MIN}ms`,
      );
    await waitFor('the outfall upset stored', async () => (await upsetRows()).length === FORCED, 20_000);
    const upset = await upsetRows();
    for (const r of upset) expect(r.cod).toBeGreaterThan(100);
  });
});
