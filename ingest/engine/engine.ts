// The exceedance engine: turns validated records into alarm lifecycle events and AQI rows. It owns
// the state of the devices whose gateways hash to this worker's shards, so it needs no coordination.
// Each record goes to the judge of its device family (judges/index.ts); the engine keeps what is
// common to all: the alarm lifecycle, alert/ and live/ messages, and the guard against re-sent samples
// after a restart. Output is data (line-protocol points, MQTT messages); the worker writes and publishes it.
import type { SampleRecord } from '../../protocol/envelope.ts';
import { DEVICE_KINDS, type DeviceKind } from '../../protocol/kinds.ts';
import { encodePoint, eventNs } from '../../protocol/line-protocol.ts';
import { decodeAlert, encodeAlert, encodeLive } from '../../protocol/messages.ts';
import type { Topics } from '../../protocol/topics.ts';
import type { RsdSettings } from '../../standards/rsd.ts';
import type { AirPollutant } from './air.ts';
import { AlarmTracker, type AlarmEvent, type Threshold } from './alarms.ts';
import type { DeviceSettings } from './devices.ts';
import { makeJudges, type Judges } from './judges/index.ts';
import { DEFAULT_TIMING, type Judge, type JudgeCall, type Timing } from './judges/judge.ts';

export interface Message {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}
export interface Output {
  points: string[];
  messages: Message[];
}

const LIVE_MIN_INTERVAL_MS = 1000;

export interface EngineOptions {
  /** Per-device rule settings (the --devices file). */
  devices?: Map<string, DeviceSettings>;
  timing?: Timing;
  /** Remote-sensing limits per fuel type and the repeat-offender rule. */
  rsd?: RsdSettings;
  clock?: () => number;
}

export class Engine {
  readonly alarms = new AlarmTracker();
  readonly judges: Judges;
  private liveAt = new Map<string, number>();
  stats = { records: 0, events: 0 };

  private devices: Map<string, DeviceSettings>;
  private timing: Timing;
  private clock: () => number;
  private call: Call;

  constructor(
    private topics: Topics,
    o: EngineOptions = {},
  ) {
    this.devices = o.devices ?? new Map();
    this.timing = o.timing ?? DEFAULT_TIMING;
    this.clock = o.clock ?? Date.now;
    this.judges = makeJudges(o.rsd);
    this.call = new Call(this.alarms, this.timing);
  }

  get rsd(): RsdSettings {
    return this.judges.rsd.settings;
  }

  /**
   * Sample times of each device's open period (hour for air, noise and hourly emission means, Beijing day
   * for vapour) replayed from the
   * database after a restart, and when that period ends: a gateway re-sending one of them (its ack was
   * lost in the crash) must not count it twice.
   */
  private replayed = new Map<string, { judge: Judge; until: number; ts: Set<number> }>();

  /** The measurements whose stored samples rebuild running state after a restart, and each one's judge. */
  replayable(): { measurement: string; judge: Judge }[] {
    const out = new Map<string, Judge>();
    for (const [kind, judge] of Object.entries(this.judges.byKind))
      if (judge.replay) out.set(DEVICE_KINDS[kind as DeviceKind], judge);
    return [...out].map(([measurement, judge]) => ({ measurement, judge }));
  }

  /**
   * Feeds a stored sample into the device's running state only: nothing is judged, written or
   * published. Used after a restart, oldest first, before live data flows; `replayDone` ends it.
   */
  replay(r: SampleRecord): void {
    const judge = this.judges.byKind[r.kind];
    if ((r.agg ?? 'rt') !== 'rt' || !judge.replay) return;
    judge.replay(r, this.devices.get(r.dev) ?? NO_SETTINGS);
    let seen = this.replayed.get(r.dev);
    if (!seen) this.replayed.set(r.dev, (seen = { judge, until: 0, ts: new Set() }));
    seen.ts.add(r.ts);
  }

  /** Keeps, per replayed device, only the sample times of its still-open period. */
  replayDone(): void {
    for (const [dev, seen] of this.replayed) {
      const open = seen.judge.openPeriod?.(dev);
      if (!open) {
        this.replayed.delete(dev);
        continue;
      }
      seen.until = open.end;
      for (const ts of seen.ts) if (ts < open.start) seen.ts.delete(ts);
    }
  }

  /** Judges one record of gateway `gw`. */
  process(r: SampleRecord, gw = ''): Output {
    const out: Output = { points: [], messages: [] };
    const seen = this.replayed.get(r.dev);
    if (seen && (r.ts >= seen.until || seen.ts.size === 0)) this.replayed.delete(r.dev);
    else if (seen?.ts.delete(r.ts)) return out;
    this.stats.records++;
    const call = this.call.reset(r.dev, out);
    call.r = r;
    call.gw = gw;
    call.s = this.devices.get(r.dev) ?? NO_SETTINGS;
    const judge = this.judges.byKind[r.kind];
    judge.judge(call);
    for (const e of call.events) this.emit(r.kind, e, out);
    // live/ carries the latest reading, at most one a second per device: a backlog replayed at full
    // speed must not turn into a flood of retained messages. A reading that closed an hour always goes,
    // at QoS 1, since it carries the hour's AQI and means (a city watch builds on them).
    const now = this.clock();
    if (!call.closedPeriod && now - (this.liveAt.get(r.dev) ?? 0) < LIVE_MIN_INTERVAL_MS) return out;
    this.liveAt.set(r.dev, now);
    out.messages.push({
      topic: this.topics.live(r.kind, r.dev),
      retain: true,
      qos: call.closedPeriod ? 1 : 0,
      payload: encodeLive({
        dev: r.dev,
        kind: r.kind,
        ts: r.ts,
        m: r.m,
        ...(r.f ? { f: r.f } : {}),
        ...(r.a ? { a: r.a } : {}),
        ...call.live,
        ...judge.liveState?.(r.dev),
      }),
    });
    return out;
  }

  private flushing?: Judge[];

  /** Rows due once an envelope's records are all judged (aqi rows of hours revised by late samples). */
  flushLate(): string[] {
    // Called once an envelope: the judges that hold late rows are listed once, not per call.
    this.flushing ??= [...new Set(Object.values(this.judges.byKind))].filter((j) => j.flush);
    if (this.flushing.length === 1) return this.flushing[0]!.flush!();
    return this.flushing.flatMap((j) => j.flush!());
  }

  /** Adds a whole hour to an air series with no samples of its own (a city) and returns its outputs. */
  seriesHour(
    dev: string,
    kind: string,
    start: number,
    means: Record<AirPollutant, number | null>,
    extra: Record<string, number> = {},
  ): Output {
    const out: Output = { points: [], messages: [] };
    const call = this.call.reset(dev, out);
    this.judges.air.seriesHour(call, dev, start, means, extra);
    for (const e of call.events) this.emit(kind, e, out);
    const aqi = this.judges.air.liveAqi(dev);
    if (aqi)
      out.messages.push({
        topic: this.topics.live(kind, dev),
        retain: true,
        qos: 1,
        payload: encodeLive({ dev, kind, ts: start, ...extra, aqi }),
      });
    return out;
  }

  /** Rebuilds an air device's rolling windows from its recent hourly aqi rows (oldest first). */
  restoreAir(dev: string, rows: Parameters<Judges['air']['restore']>[1]): void {
    this.judges.air.restore(dev, rows);
  }

  /** Seeds the repeat-offender history with over-limit passes stored before a restart. */
  restorePlates(passes: { plate: string; ts: number }[]): void {
    this.judges.rsd.restorePlates(passes);
  }

  /**
   * Restores open alarms from a retained alert/{dev} message after a restart. Returns their open events
   * as points to write again: the worker that raised them may have died before writing them, and an
   * identical point overwrites itself.
   */
  restore(payload: string): string[] {
    const doc = decodeAlert(payload);
    if (!doc || this.alarms.open(doc.dev).length) return []; // state built since start-up is newer
    return doc.open.map((a) => {
      this.alarms.restore(doc.dev, a);
      return alertPoint(
        {
          dev: doc.dev,
          rule: a.rule,
          field: a.field,
          state: 'open',
          ts: a.openedAt,
          since: a.since,
          value: a.openValue,
          limit: a.limit,
          peak: a.peak,
        },
        doc.kind,
      );
    });
  }

  /** Forgets a device's alarms before they are restored again from alert/{dev} (a shard taken over from another worker). */
  forgetAlarms(dev: string): void {
    this.alarms.forget(dev);
  }

  private emit(kind: string, e: AlarmEvent, out: Output): void {
    this.stats.events++;
    out.points.push(alertPoint(e, kind));
    const open = this.alarms.open(e.dev);
    const body = encodeAlert({ dev: e.dev, kind, event: e, open });
    // A one-off event leaves the retained open alarms as they are.
    if (e.state === 'event') {
      out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: false, qos: 1 });
      return;
    }
    // alert/{dev} retains the open alarms; when none is left, the event goes out unretained and the
    // retained message is cleared.
    if (open.length) out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: true, qos: 1 });
    else {
      out.messages.push({ topic: this.topics.alert(e.dev), payload: body, retain: false, qos: 1 });
      out.messages.push({ topic: this.topics.alert(e.dev), payload: '', retain: true, qos: 1 });
    }
  }
}

const NO_SETTINGS: DeviceSettings = Object.freeze({});

/**
 * The call a judge gets, one object reused for every record (this is the hot path of ingest: no
 * closures or findings objects made per record).
 */
class Call implements JudgeCall {
  r!: SampleRecord;
  gw = '';
  s: DeviceSettings = NO_SETTINGS;
  points: string[] = [];
  live: JudgeCall['live'] = {};
  closedPeriod = false;
  readonly events: AlarmEvent[] = [];
  private dev = '';

  constructor(
    private alarms: AlarmTracker,
    readonly timing: Timing,
  ) {}

  /** Clears what the last record left, for findings about device `dev` whose rows go to `out`. */
  reset(dev: string, out: Output): this {
    this.dev = dev;
    this.points = out.points;
    this.live = {};
    this.closedPeriod = false;
    this.events.length = 0;
    return this;
  }

  observe(t: Threshold, ts: number, value: number): void {
    const e = this.alarms.observe(this.dev, t, ts, value);
    if (e) this.events.push(e);
  }

  event(e: AlarmEvent): void {
    this.events.push(e);
  }
}

function alertPoint(e: AlarmEvent, kind: string): string {
  return encodePoint({
    measurement: 'alert',
    tags: { dev: e.dev, rule: e.rule, field: e.field },
    fields: { state: e.state, value: e.value, limit: e.limit, peak: e.peak, since: e.since, kind, ...e.attrs },
    ts: e.ts,
    // A one-off event (a vehicle's pass) is told from another in the same ms by what it carries;
    // an alarm's transitions stay on the millisecond, where acknowledgements find them.
    ns: e.attrs ? eventNs(Object.entries(e.attrs).sort().join(';') + ';' + e.value) : 0,
  });
}
