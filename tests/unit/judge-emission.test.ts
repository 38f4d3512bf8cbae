// The emission judge for ammonia slip, VOC and catering fumes through the engine: GB 37822 / GB 16297
// NMHC on single values and 1-hour means, GB 18483 fumes and the purifier state, SCR/SNCR slip and the
// GB 4915 kiln limit at 10 % O2, and a restart in the middle of an hour. Numbers:
// docs/standards/limits.md §2–4. Every time is pinned.
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../ingest/engine/alarms.ts';
import type { DeviceSettings } from '../../ingest/engine/devices.ts';
import { Engine } from '../../ingest/engine/engine.ts';
import type { Timing } from '../../ingest/engine/judges/judge.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { EMISSION_PROFILES, ppmToMgM3 } from '../../standards/emission.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW: Timing = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
const DEFAULT: Timing = { minDurationMs: 60_000, clearDurationMs: 60_000, hysteresis: 0.05 };
// 10:00 Beijing time, 2026-06-15.
const T = Date.UTC(2026, 5, 15, 2);

const engine = (devices: Record<string, DeviceSettings> = {}, timing = NOW) =>
  new Engine(new Topics(), { timing, devices: new Map(Object.entries(devices)) });

function events(e: Engine, records: SampleRecord[]): AlarmEvent[] {
  const out: AlarmEvent[] = [];
  for (const r of records)
    for (const m of e.process(r).messages)
      if (m.topic.includes('/alert/') && m.payload) out.push(JSON.parse(m.payload).event);
  return out;
}
const brief = (es: AlarmEvent[]) => es.map((e) => [e.rule, e.field, e.state, e.ts, +e.value.toFixed(3), e.limit]);
const rec = (kind: SampleRecord['kind'], ts: number, m: Record<string, number>, dev = 'd-1'): SampleRecord => ({
  dev,
  kind,
  ts,
  m,
});
/** One VOC reading a minute from `from`. */
const vocMinutes = (from: number, n: number, nmhc: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => rec('voc', from + i * MIN, { nmhc: nmhc(i) }));

describe('VOC, GB 37822-2019 Table A.1 (in-plant NMHC)', () => {
  it('ships 10 mg/m³ for the 1-h mean and 30 for a single value (special: 6 and 20), and GB 16297 120 as a 1-h mean', () => {
    expect(EMISSION_PROFILES['gb37822-voc-1h']).toMatchObject({ limits: { nmhc: 30 }, hourly: { nmhc: 10 } });
    expect(EMISSION_PROFILES['gb37822-voc-special']).toMatchObject({ limits: { nmhc: 20 }, hourly: { nmhc: 6 } });
    expect(EMISSION_PROFILES['gb16297-stack-nmhc']).toMatchObject({ limits: {}, hourly: { nmhc: 120 } });
  });

  it('holds a single reading to 30: 25 is no exceedance on its own, 31 is', () => {
    expect(events(engine(), [rec('voc', T, { nmhc: 25 })])).toEqual([]);
    expect(brief(events(engine(), [rec('voc', T, { nmhc: 31 })]))).toEqual([
      ['gb37822-voc-1h', 'nmhc', 'open', T, 31, 30],
    ]);
  });

  it('holds the mean of each clock hour to 10, judged when the next hour begins', () => {
    const e = engine();
    const got = events(e, [...vocMinutes(T, 60, (i) => (i % 2 ? 8 : 16)), ...vocMinutes(T + HOUR, 1, () => 2)]);
    // Readings of 8 and 16 (all under 30): the mean 12 > 10.
    expect(brief(got)).toEqual([['gb37822-voc-1h/hour', 'nmhc', 'open', T, 12, 10]]);
    // The next hour, all at 2, closes it.
    expect(
      brief(
        events(
          e,
          vocMinutes(T + HOUR + MIN, 60, () => 2),
        ),
      ),
    ).toEqual([['gb37822-voc-1h/hour', 'nmhc', 'close', T + HOUR, 2, 10]]);
  });

  it('makes no mean of an hour with under 45 minutes of usable readings (HJ 212 Appendix D)', () => {
    const recs = vocMinutes(T, 60, () => 12);
    for (const r of recs.slice(0, 16)) r.f = { nmhc: 'M' };
    expect(events(engine(), [...recs, ...vocMinutes(T + HOUR, 1, () => 2)])).toEqual([]);
  });

  it("judges a monitor's own hourly mean on the hourly limit and its minute means on the single-value limit", () => {
    const got = events(engine(), [
      { ...rec('voc', T, { nmhc_avg: 11 }), agg: 'hour' },
      { ...rec('voc', T, { nmhc_avg: 25 }), agg: 'min', dev: 'd-2' },
    ]);
    expect(brief(got)).toEqual([['gb37822-voc-1h/hour', 'nmhc', 'open', T, 11, 10]]);
  });

  it('uses the special limits (6 / 20) and a device limit replaces the hourly one', () => {
    const special = engine({ 'd-1': { profile: 'gb37822-voc-special' } });
    expect(
      brief(events(special, [...vocMinutes(T, 60, () => 7), rec('voc', T + HOUR, { nmhc: 21 })])).map((x) => x[0]),
    ).toEqual(['gb37822-voc-special', 'gb37822-voc-special/hour']); // the reading is judged before the hour it closes
    const own = engine({ 'd-1': { limits: { nmhc: 8 } } });
    expect(brief(events(own, [...vocMinutes(T, 60, () => 9), rec('voc', T + HOUR, { nmhc: 2 })]))).toEqual([
      ['gb37822-voc-1h/hour', 'nmhc', 'open', T, 9, 8],
    ]);
  });

  it('GB 16297: a stack at 150 mg/m³ for one minute is no exceedance, an hour averaging 130 is', () => {
    const dev = { 'd-1': { profile: 'gb16297-stack-nmhc' } };
    const spike = vocMinutes(T, 60, (i) => (i === 0 ? 150 : 50));
    expect(events(engine(dev), [...spike, rec('voc', T + HOUR, { nmhc: 50 })])).toEqual([]);
    expect(brief(events(engine(dev), [...vocMinutes(T, 60, () => 130), rec('voc', T + HOUR, { nmhc: 50 })]))).toEqual([
      ['gb16297-stack-nmhc/hour', 'nmhc', 'open', T, 130, 120],
    ]);
  });

  it('a restart in the middle of an hour neither loses nor double-counts readings', () => {
    // 30 minutes at 4 and 30 at 17: mean 10.5 > 10 only with both halves.
    const recs = [...vocMinutes(T, 60, (i) => (i < 30 ? 4 : 17)), ...vocMinutes(T + HOUR, 1, () => 2)];
    const whole = brief(events(engine(), recs));
    expect(whole).toEqual([['gb37822-voc-1h/hour', 'nmhc', 'open', T, 10.5, 10]]);
    const after = engine();
    const from = after.replayable().find((x) => x.measurement === 'voc')!.judge.replayFrom!(recs[29]!.ts);
    expect(from).toBeLessThanOrEqual(T);
    for (const r of recs.slice(0, 30)) after.replay(r);
    after.replayDone();
    // The gateway re-sends minute 29 (its ack was lost in the crash), then goes on.
    expect(brief(events(after, recs.slice(29)))).toEqual(whole);
  });
});

describe('catering fumes, GB 18483-2001', () => {
  it('holds fumes to 2.0 mg/m³: 2.0 is within, 2.01 over', () => {
    expect(events(engine(), [rec('fumes', T, { fumes: 2.0 })])).toEqual([]);
    expect(brief(events(engine(), [rec('fumes', T, { fumes: 2.01 })]))).toEqual([
      ['gb18483-fumes', 'fumes', 'open', T, 2.01, 2],
    ]);
  });

  it('raises gb18483-purifier while the fan runs with the purifier off (after the open delay), and closes it when the purifier runs', () => {
    const e = engine({}, DEFAULT);
    const s = (sec: number, fan: number, purifier: number) =>
      rec('fumes', T + sec * 1000, { fumes: 0.8, fan, purifier });
    const got = events(e, [
      s(0, 0, 0), // kitchen closed: nothing
      s(30, 1, 0), // fan on, purifier still off: pending
      s(60, 1, 1), // purifier started 30 s later: nothing
      s(120, 1, 0),
      s(180, 1, 0), // off for 60 s while cooking: open
      s(240, 1, 1),
      s(300, 1, 1), // running again for 60 s: close
      s(400, 0, 0),
    ]);
    expect(brief(got)).toEqual([
      ['gb18483-purifier', 'purifier', 'open', T + 180_000, 1, 0.5],
      ['gb18483-purifier', 'purifier', 'close', T + 240_000, 0, 0.5],
    ]);
  });

  it('does not judge the purifier of a monitor that sends no states, or a flagged state', () => {
    expect(events(engine(), [rec('fumes', T, { fumes: 0.5, fan: 1 })])).toEqual([]);
    expect(events(engine(), [{ ...rec('fumes', T, { fan: 1, purifier: 0 }), f: { purifier: 'D' } }])).toEqual([]);
  });
});

describe('ammonia slip', () => {
  it('holds SCR slip to 2.5 and SNCR slip to 8 mg/m³, unconverted (3 ppm = 2.28 mg/m³ is within SCR)', () => {
    expect(ppmToMgM3(3, 17.03)).toBeCloseTo(2.28, 2);
    expect(events(engine(), [rec('stack.nh3slip', T, { nh3: 2.5, o2: 12 })])).toEqual([]);
    expect(brief(events(engine(), [rec('stack.nh3slip', T, { nh3: 2.6, o2: 12 })]))).toEqual([
      ['scr-slip', 'nh3', 'open', T, 2.6, 2.5],
    ]);
    const sncr = engine({ 'd-1': { profile: 'sncr-slip' } });
    expect(events(sncr, [rec('stack.nh3slip', T, { nh3: 8 })])).toEqual([]);
    expect(brief(events(sncr, [rec('stack.nh3slip', T + MIN, { nh3: 8.4 })]))).toEqual([
      ['sncr-slip', 'nh3', 'open', T + MIN, 8.4, 8],
    ]);
  });

  it('converts a cement kiln to 10 % O2 (GB 4915): 8 mg/m³ at 13 % O2 is 11 > 10; the special limit is 8', () => {
    const kiln = engine({ 'd-1': { profile: 'gb4915-kiln' }, 'd-2': { profile: 'gb4915-kiln-special' } });
    expect(
      brief(
        events(kiln, [rec('stack.nh3slip', T, { nh3: 8, o2: 13 }), rec('stack.nh3slip', T, { nh3: 6, o2: 10 }, 'd-2')]),
      ),
    ).toEqual([['gb4915-kiln', 'nh3', 'open', T, 11, 10]]);
  });

  it("judges an analyser's hourly mean of slip at once, as scr-slip/hour", () => {
    expect(brief(events(engine(), [{ ...rec('stack.nh3slip', T, { nh3_avg: 3 }), agg: 'hour' }]))).toEqual([
      ['scr-slip/hour', 'nh3', 'open', T, 3, 2.5],
    ]);
  });
});
