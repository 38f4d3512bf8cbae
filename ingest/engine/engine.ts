// The exceedance engine: turns validated records into alarm lifecycle events and AQI rows. It owns
// the state of the devices whose gateways hash to this worker's shards, so it needs no coordination.
// Output is data (line-protocol points, MQTT messages); the worker writes and publishes it.
import type { SampleRecord } from '../../protocol/envelope.ts';
import { encodePoint } from '../../protocol/line-protocol.ts';
import type { Topics } from '../../protocol/topics.ts';
import { gb3095Limit, limitSetAt } from '../../standards/gb3095.ts';
import type { AqiResult } from '../../standards/aqi.ts';
import { WARNING_LIFT_HOURS, WARNING_RANK, warningLevel } from '../../standards/warnings.ts';
import { AIR_POLLUTANTS, AirState, type AirPollutant, type HourClosed } from './air.ts';
import { VaporState } from './vapor.ts';
import { judgePass, PlateHistory, RSD_DEFAULTS, RSD_FIELDS, type RsdLimits, type RsdSettings } from '../../standards/rsd.ts';
import { AlarmTracker, type AlarmEvent, type OpenAlarm, type Threshold } from './alarms.ts';
import type { DeviceSettings } from './devices.ts';
import { checksFor, DEFAULT_TIMING, type Timing } from './rules.ts';

export interface Message { topic: string; payload: string; retain: boolean; qos: 0 | 1 }
export interface Output { points: string[]; messages: Message[] }

const LIVE_MIN_INTERVAL_MS = 1000;

type LatestAqi = AqiResult & { hourStart: number; aqi24: number | null; warning: string; means: Record<string, number | null> };

/** The AQI block of a live/ message. `c` holds the hour's valid means (a city watch averages them). */
function liveAqi(a: LatestAqi): Record<string, unknown> {
  return {
    hour: a.hourStart, aqi: a.published, value: a.aqi, level: a.level?.level, category: a.level?.zh, colour: a.level?.rgb, primary: a.primary,
    aqi_24h: a.aqi24, warning: a.warning, c: Object.fromEntries(Object.entries(a.means).filter(([, v]) => v !== null)),
  };
}

/** A threshold without hysteresis for values that are already judgements (hourly means, AQI, levels). */
const plain = (rule: string, field: string, limit: number, minDurationMs = 0, clearDurationMs = 0): Threshold =>
  ({ rule, field, limit, bound: 'max', minDurationMs, clearDurationMs, hysteresis: 0 });

/** Hohhot heavy-pollution trigger: an hourly AQI above 200 at a station. */
export const AQI_HOUR_TRIGGER = 200;

export interface EngineOptions {
  /** Per-device rule settings (the --devices file). */
  devices?: Map<string, DeviceSettings>;
  timing?: Timing;
  /** Remote-sensing limits per fuel type and the repeat-offender rule. */
  rsd?: RsdSettings;
  clock?: () => number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

export class Engine {
  readonly alarms = new AlarmTracker();
  private air = new Map<string, AirState>();
  private latestAqi = new Map<string, LatestAqi>();
  private liveAt = new Map<string, number>();
  private vapor = new Map<string, VaporState>();
  /** Hourly rolling 24-h AQI per air device, newest last (five days: enough for every warning rule). */
  private rolling = new Map<string, number[]>();
  stats = { records: 0, events: 0, aqiHours: 0, aqiDays: 0 };

  private devices: Map<string, DeviceSettings>;
  private timing: Timing;
  private clock: () => number;
  readonly rsd: RsdSettings;
  /** Over-limit passes per plate, for the repeat-offender rule. */
  readonly plates: PlateHistory;
  private platesAdded = 0;

  constructor(private topics: Topics, o: EngineOptions = {}) {
    this.devices = o.devices ?? new Map();
    this.timing = o.timing ?? DEFAULT_TIMING;
    this.clock = o.clock ?? Date.now;
    this.rsd = o.rsd ?? RSD_DEFAULTS;
    this.plates = new PlateHistory(this.rsd.windowDays * DAY);
  }

  /**
   * Sample times of each device's open period (hour for air, Beijing day for vapour) replayed from the
   * database after a restart, and when that period ends: a gateway re-sending one of them (its ack was
   * lost in the crash) must not count it twice.
   */
  private replayed = new Map<string, { until: number; ts: Set<number> }>();

  /**
   * Feeds a stored sample into the device's running state only: nothing is judged, written or
   * published. Used after a restart, oldest first, before live data flows; `replayDone` ends it.
   */
  replay(r: SampleRecord): void {
    if ((r.agg ?? 'rt') !== 'rt') return;
    if (r.kind.startsWith('air.')) this.airOf(r.dev).add(r);
    else if (r.kind === 'vapor') this.vaporOf(r.dev).add(r);
    else return;
    let seen = this.replayed.get(r.dev);
    if (!seen) this.replayed.set(r.dev, (seen = { until: 0, ts: new Set() }));
    seen.ts.add(r.ts);
  }

  /** Keeps, per replayed device, only the sample times of its still-open period. */
  replayDone(): void {
    for (const [dev, seen] of this.replayed) {
      const open = this.air.get(dev)?.openHour ?? this.vapor.get(dev)?.openDay;
      if (open === undefined) { this.replayed.delete(dev); continue; }
      seen.until = open + (this.air.has(dev) ? HOUR : DAY);
      for (const ts of seen.ts) if (ts < open) seen.ts.delete(ts);
    }
  }

  /** Judges one record of gateway `gw`. */
  process(r: SampleRecord, gw = ''): Output {
    const out: Output = { points: [], messages: [] };
    const seen = this.replayed.get(r.dev);
    if (seen && (r.ts >= seen.until || seen.ts.size === 0)) this.replayed.delete(r.dev);
    else if (seen?.ts.delete(r.ts)) return out;
    const s = this.devices.get(r.dev) ?? {};
    this.stats.records++;
    const events: AlarmEvent[] = [];
    for (const c of checksFor(r, s, this.timing)) {
      const e = this.alarms.observe(r.dev, c.threshold, r.ts, c.value);
      if (e) events.push(e);
    }
    if (r.kind === 'vapor' && (r.agg ?? 'rt') === 'rt') {
      for (const o of this.vaporOf(r.dev).add(r)) {
        // Levels 1 (warning) and 2 (alarm) are past the 0.5 "limit"; a step from 1 to 2 is an update.
        const e = this.alarms.observe(r.dev, plain(o.rule, o.field, 0.5), o.ts, o.level);
        if (e) events.push(e);
      }
    }
    const verdict = r.kind === 'rsd' ? this.onPass(r, s, events) : undefined;
    let hourClosed = false;
    if (r.kind.startsWith('air.') && (r.agg ?? 'rt') === 'rt') {
      const st = this.airOf(r.dev);
      for (const h of st.add(r)) { this.onHour(r, gw, s, h, out, events); hourClosed = true; }
      if (st.lateSamples) this.late.set(r.dev, gw);
    }
    for (const e of events) this.emit(r.kind, e, out);
    // live/ carries the latest reading, at most one a second per device: a backlog replayed at full
    // speed must not turn into a flood of retained messages. A reading that closed an hour always goes,
    // at QoS 1, since it carries the hour's AQI and means (a city watch builds on them).
    const now = this.clock();
    if (!hourClosed && now - (this.liveAt.get(r.dev) ?? 0) < LIVE_MIN_INTERVAL_MS) return out;
    this.liveAt.set(r.dev, now);
    const aqi = this.latestAqi.get(r.dev);
    out.messages.push({
      topic: this.topics.live(r.kind, r.dev), retain: true, qos: hourClosed ? 1 : 0,
      payload: JSON.stringify({ dev: r.dev, kind: r.kind, ts: r.ts, m: r.m, ...(r.f ? { f: r.f } : {}), ...(r.a ? { a: r.a } : {}), ...(aqi ? { aqi: liveAqi(aqi) } : {}), ...(verdict ? { verdict } : {}) }),
    });
    return out;
  }

  /**
   * A remote-sensing pass: each reading over its fuel type's limit is an `rsd-pass` event, and a plate
   * with `count` such passes within the window an `rsd-repeat` event (a high emitter). Returns the
   * verdict for live/.
   */
  private onPass(r: SampleRecord, s: DeviceSettings, events: AlarmEvent[]): { judged: boolean; over?: string[]; why?: string } {
    const fuel = r.a?.fuel;
    const v = judgePass(r.m, fuel, this.limitsFor(s), r.a?.invalid);
    if (!v.judged) return { judged: false, why: v.why };
    const attrs = { fuel: fuel!, ...(r.a?.plate ? { plate: r.a.plate } : {}) };
    for (const x of v.exceeded) events.push({ dev: r.dev, rule: 'rsd-pass', field: x.field, state: 'event', ts: r.ts, since: r.ts, value: x.value, limit: x.limit, peak: x.value, attrs });
    if (v.exceeded.length && r.a?.plate) {
      const n = this.plates.add(r.a.plate, r.ts);
      if (++this.platesAdded % 10_000 === 0) this.plates.prune(r.ts);
      if (n >= this.rsd.count) events.push({ dev: r.dev, rule: 'rsd-repeat', field: 'passes', state: 'event', ts: r.ts, since: r.ts, value: n, limit: this.rsd.count, peak: n, attrs });
    }
    return { judged: true, over: v.exceeded.map((x) => x.field) };
  }

  /** A device's `limits` override the fuel tables' values for the fields those tables judge. */
  private limitsFor(s: DeviceSettings): RsdLimits {
    const own = Object.entries(s.limits ?? {}).filter(([f]) => (RSD_FIELDS as readonly string[]).includes(f));
    if (own.length === 0) return this.rsd.limits;
    return Object.fromEntries(Object.entries(this.rsd.limits).map(([fuel, l]) =>
      [fuel, { ...l, ...Object.fromEntries(own.filter(([f]) => f in l)) }]));
  }

  /** Seeds the repeat-offender history with over-limit passes stored before a restart. */
  restorePlates(passes: { plate: string; ts: number }[]): void {
    for (const p of passes) this.plates.add(p.plate, p.ts);
  }

  private vaporOf(dev: string): VaporState {
    let st = this.vapor.get(dev);
    if (!st) this.vapor.set(dev, (st = new VaporState()));
    return st;
  }

  private airOf(dev: string): AirState {
    let st = this.air.get(dev);
    if (!st) this.air.set(dev, (st = new AirState()));
    return st;
  }

  /** Air devices (and their gateways) with late samples in hours already closed. */
  private late = new Map<string, string>();

  /**
   * Writes again the aqi rows of hours that late samples went into (a gateway sends its newest data
   * before its backlog): hourly means, AQI and rolling 24-h AQI of those hours and the ones after,
   * and the daily AQI of days they end. Alarms and warning levels stay as judged when the hours closed
   * (alarms follow sample time). Called once per envelope, after its records.
   */
  flushLate(): string[] {
    if (this.late.size === 0) return [];
    const points: string[] = [];
    for (const [dev, gw] of this.late) {
      for (const h of this.airOf(dev).revise()) {
        points.push(aqiPoint(dev, 'hour', h.hourStart, h.aqi, { aqi_24h: h.rolling.aqi ?? undefined, ...(gw ? { gw } : {}), ...cMeans(h) }));
        if (h.day) points.push(aqiPoint(dev, 'day', h.day.dayStart, h.day.aqi));
      }
    }
    this.late.clear();
    return points;
  }

  /** Adds a whole hour to an air series with no samples of its own (a city) and returns its outputs. */
  seriesHour(dev: string, kind: string, start: number, means: Record<AirPollutant, number | null>, extra: Record<string, number> = {}): Output {
    const out: Output = { points: [], messages: [] };
    const events: AlarmEvent[] = [];
    const h = this.airOf(dev).addHour(start, means);
    this.stats.aqiHours++;
    this.seriesOutputs(dev, h, extra, out, events);
    for (const e of events) this.emit(kind, e, out);
    const aqi = this.latestAqi.get(dev);
    if (aqi) out.messages.push({ topic: this.topics.live(kind, dev), retain: true, qos: 1, payload: JSON.stringify({ dev, kind, ts: start, ...extra, aqi: liveAqi(aqi) }) });
    return out;
  }

  private onHour(r: SampleRecord, gw: string, s: DeviceSettings, h: HourClosed, out: Output, events: AlarmEvent[]): void {
    this.stats.aqiHours++;
    // gw says which worker owns the device after a restart (the shard of its gateway).
    this.seriesOutputs(r.dev, h, gw ? { gw } : {}, out, events);
    // Hourly means against the GB 3095 1-hour limits, and the hourly AQI against the heavy-pollution trigger.
    const set = limitSetAt(h.hourStart);
    for (const p of ['so2', 'no2', 'co', 'o3'] as const) {
      const v = h.means[p];
      const limit = s.limits?.[p] ?? gb3095Limit(p, '1h', s.grade ?? 2, set);
      if (v === null || limit === undefined) continue;
      const e = this.alarms.observe(r.dev, plain(`gb3095-1h`, p, limit), h.hourStart, v);
      if (e) events.push(e);
    }
    if (h.aqi.aqi !== null) {
      const e = this.alarms.observe(r.dev, plain('aqi-hour', 'aqi', AQI_HOUR_TRIGGER), h.hourStart, h.aqi.aqi);
      if (e) events.push(e);
    }
  }

  /** What every air series yields when an hour closes: AQI rows, warning levels, days over 150. */
  private seriesOutputs(dev: string, h: HourClosed, extra: Record<string, number | string>, out: Output, events: AlarmEvent[]): void {
    // Warning levels (hohhot-2019) from the observed rolling 24-h AQI; yellow and above is an alarm
    // that lifts after 36 h below yellow.
    const series = this.rolling.get(dev) ?? [];
    if (h.rolling.aqi !== null) series.push(h.rolling.aqi);
    else series.length = 0; // a gap breaks every "for N hours" run
    if (series.length > 120) series.shift();
    this.rolling.set(dev, series);
    const level = warningLevel(series);
    const warn = this.alarms.observe(dev, plain('hohhot-2019', 'warning', WARNING_RANK['pre-warning'], 0, WARNING_LIFT_HOURS * 3_600_000), h.hourStart, WARNING_RANK[level]);
    if (warn) events.push(warn);
    // The hourly means go with the row (c_*), so a restarted worker can rebuild its rolling windows.
    out.points.push(aqiPoint(dev, 'hour', h.hourStart, h.aqi, { aqi_24h: h.rolling.aqi ?? undefined, warning: level, ...extra, ...cMeans(h) }));
    if (h.aqi.aqi !== null) this.latestAqi.set(dev, { ...h.aqi, hourStart: h.hourStart, aqi24: h.rolling.aqi, warning: level, means: h.means });
    if (h.day) {
      this.stats.aqiDays++;
      out.points.push(aqiPoint(dev, 'day', h.day.dayStart, h.day.aqi));
      // Daily AQI above 150 on consecutive days (the plan's sustained-pollution trigger).
      if (h.day.aqi.aqi !== null) {
        const e = this.alarms.observe(dev, plain('aqi-day', 'aqi', 150, 86_400_000), h.day.dayStart, h.day.aqi.aqi);
        if (e) events.push(e);
      }
    }
  }

  private emit(kind: string, e: AlarmEvent, out: Output): void {
    this.stats.events++;
    out.points.push(alertPoint(e, kind));
    const open = this.alarms.open(e.dev);
    const body = JSON.stringify({ dev: e.dev, kind, event: e, open });
    // A one-off event leaves the retained open alarms as they are.
    if (e.state === 'event') { out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: false, qos: 1 }); return; }
    // alert/{dev} retains the open alarms; when none is left, the event goes out unretained and the
    // retained message is cleared.
    if (open.length) out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: true, qos: 1 });
    else {
      out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: false, qos: 1 });
      out.messages.push({ topic: this.topics.alert(e.dev), payload: '', retain: true, qos: 1 });
    }
  }

  /**
   * Rebuilds an air device's rolling state from its recent hourly aqi rows (oldest first): the hourly
   * means behind the 24-h and 8-h windows, and the rolling 24-h AQI series behind the warning levels.
   */
  restoreAir(dev: string, rows: { hourStart: number; means: Partial<Record<AirPollutant, number>>; aqi24: number | null }[]): void {
    const st = this.airOf(dev);
    st.restore(rows.map((r) => ({ start: r.hourStart, means: Object.fromEntries(AIR_POLLUTANTS.map((p) => [p, r.means[p] ?? null])) as Record<AirPollutant, number | null> })));
    // The warning series counts consecutive hours: keep the unbroken run that ends with the last row.
    const series: number[] = [];
    let prev: number | undefined;
    for (const r of rows) {
      if (r.aqi24 === null || (prev !== undefined && r.hourStart !== prev + 3_600_000)) series.length = 0;
      if (r.aqi24 !== null) series.push(r.aqi24);
      prev = r.hourStart;
    }
    this.rolling.set(dev, series.slice(-120));
  }

  /**
   * Restores open alarms from a retained alert/{dev} message after a restart. Returns their open events
   * as points to write again: the worker that raised them may have died before writing them, and an
   * identical point overwrites itself.
   */
  restore(payload: string): string[] {
    const doc = JSON.parse(payload) as { dev: string; kind: string; open?: OpenAlarm[] };
    if (this.alarms.open(doc.dev).length) return []; // state built since start-up is newer
    return (doc.open ?? []).map((a) => {
      this.alarms.restore(doc.dev, a);
      return alertPoint({ dev: doc.dev, rule: a.rule, field: a.field, state: 'open', ts: a.openedAt, since: a.since, value: a.openValue, limit: a.limit, peak: a.peak }, doc.kind);
    });
  }
}

/** An hour's valid means as `c_*` fields. */
function cMeans(h: HourClosed): Record<string, number> {
  return Object.fromEntries(Object.entries(h.means).filter(([, v]) => v !== null).map(([k, v]) => [`c_${k}`, v!]));
}

function alertPoint(e: AlarmEvent, kind: string): string {
  return encodePoint({
    measurement: 'alert', tags: { dev: e.dev, rule: e.rule, field: e.field },
    fields: { state: e.state, value: e.value, limit: e.limit, peak: e.peak, since: e.since, kind, ...e.attrs }, ts: e.ts,
  });
}

function aqiPoint(dev: string, period: 'hour' | 'day', ts: number, a: AqiResult, extra: Record<string, number | string | undefined> = {}): string {
  const fields: Record<string, number | string | boolean> = { edition: a.edition, complete: a.complete };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) fields[k] = v;
  if (a.aqi !== null) {
    fields.aqi = a.aqi;
    fields.level = a.level!.level;
    fields.category = a.level!.zh;
    fields.primary = a.primary.join(',');
  }
  if (a.published !== null) fields.published = String(a.published);
  if (a.exceeding) fields.exceeding = a.exceeding.join(',');
  for (const [k, v] of Object.entries(a.iaqi)) fields[`iaqi_${k.toLowerCase().replace('.', '')}`] = v;
  return encodePoint({ measurement: 'aqi', tags: { dev, period }, fields, ts });
}
