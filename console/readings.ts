// Each device's latest reading as live/ carries it, how often the device reports (so a row can be shown
// stale when it stops), and for air devices a provisional AQI of the open hour, computed only from what
// this viewer received and only when that is enough to be honest about it.
import type { LiveReading } from '../protocol/messages.ts';
import { HOUR, MINUTE } from '../protocol/time.ts';
import { computeAqi, editionAt } from '../standards/aqi.ts';
import { HourAccumulator, isUsable, MIN_MINUTES_PER_HOUR } from '../standards/averages.ts';

export interface ReadingView {
  dev: string;
  kind: string;
  /** Sample time of the reading. */
  ts: number;
  m: Record<string, number>;
  f: Record<string, string>;
  a?: Record<string, string>;
  verdict?: LiveReading['verdict'];
  /** A water section's or source's GB 3838 class now, and its target (from the engine). */
  water?: LiveReading['water'];
  /** Typical time between readings as received (the median of the last few), once two have come. */
  cadenceMs?: number;
}

/** Staleness when the cadence is not known yet. */
export const STALE_UNKNOWN_MS = 2 * MINUTE;
/** The least a row waits before it is stale: gateway, ingest and broker take their time, and live/ sends at most one reading a second. */
export const STALE_FLOOR_MS = 5000;
const INTERVALS_KEPT = 8;

/** A reading is stale once older than twice its device's cadence (2 minutes while that is unknown). */
export function staleAfterMs(r: Pick<ReadingView, 'cadenceMs'>): number {
  return r.cadenceMs === undefined ? STALE_UNKNOWN_MS : Math.max(STALE_FLOOR_MS, 2 * r.cadenceMs);
}

export const isStale = (r: Pick<ReadingView, 'ts' | 'cadenceMs'>, now: number): boolean => now - r.ts > staleAfterMs(r);

/** Flags that mean the value is not a normal measurement (HJ 212-2017 Table 7, HJ 212-2025 Td). */
export const FLAG_MEANINGS: Record<string, string> = {
  F: 'instrument stopped',
  M: 'maintenance',
  S: 'manually set',
  D: 'instrument fault',
  C: 'calibration',
  T: 'over the measuring range',
  B: 'communication failure',
  Td: 'over the measuring range (HJ 212-2025)',
};

const AIR_KEYS = ['so2', 'no2', 'co', 'o3', 'pm10', 'pm25'] as const;
type AirKey = (typeof AIR_KEYS)[number];

/** What the viewer can say about the open hour of an air device. */
export interface ProvisionalAqi {
  hour: number;
  /** The latest sample time counted. */
  until: number;
  /** Distinct minutes with a usable reading, and minutes of the hour elapsed by `until`. */
  minutes: number;
  elapsed: number;
  /** Readings received in the hour. */
  readings: number;
  /** The hourly AQI of HJ 633-2026 from the means so far; null when it cannot be given honestly. */
  aqi: number | null;
  level?: number;
  primary: string[];
  /** Why there is no value, when there is none. */
  why?: 'edition' | 'late' | 'short' | 'none';
}

/** Minutes a viewer must have covered before it shows a provisional value. */
export const PROVISIONAL_MIN_MINUTES = 10;

/**
 * The open hour of one air device from the readings received: per pollutant the running mean of usable
 * values (flags F, M, D, C, B left out, as ingest does) and the minutes covered.
 */
export class OpenHour {
  private accs = new Map<AirKey, HourAccumulator>();
  private minutes = new Set<number>();
  private last = 0;
  private n = 0;

  constructor(readonly hour: number) {
    for (const k of AIR_KEYS) this.accs.set(k, new HourAccumulator(hour));
  }

  add(r: Pick<ReadingView, 'ts' | 'm' | 'f'>): void {
    if (r.ts < this.hour || r.ts >= this.hour + HOUR || r.ts <= this.last) return;
    this.last = r.ts;
    this.n++;
    for (const k of AIR_KEYS) {
      const v = r.m[k];
      if (v === undefined) continue;
      this.accs.get(k)!.add(r.ts, v, r.f[k]);
      if (isUsable(r.f[k])) this.minutes.add(Math.floor((r.ts - this.hour) / MINUTE));
    }
  }

  /**
   * The provisional AQI, given only when this viewer followed the device since the hour began (no more
   * minutes missing than the 15 an hourly mean may miss, HJ 633 / GB 3095 Table 4) and has at least 10
   * minutes of readings; only under HJ 633-2026, whose hourly AQI uses the hour's means alone (2012
   * needs 24-hour means this viewer does not have).
   */
  provisional(): ProvisionalAqi {
    const elapsed = this.n ? Math.floor((this.last - this.hour) / MINUTE) + 1 : 0;
    const base = { hour: this.hour, until: this.last, minutes: this.minutes.size, elapsed, readings: this.n };
    const none = (why: ProvisionalAqi['why']): ProvisionalAqi => ({ ...base, aqi: null, primary: [], why });
    if (editionAt(this.hour) !== '2026') return none('edition');
    if (!this.n) return none('none');
    if (elapsed - this.minutes.size > 60 - MIN_MINUTES_PER_HOUR) return none('late');
    if (this.minutes.size < PROVISIONAL_MIN_MINUTES) return none('short');
    const mean = (k: AirKey) => this.accs.get(k)!.mean().value;
    const r = computeAqi(
      { so2: mean('so2'), no2: mean('no2'), co: mean('co'), o3_1h: mean('o3'), pm10: mean('pm10'), pm25: mean('pm25') },
      '2026',
      'hourly',
    );
    if (r.aqi === null) return none('none');
    return { ...base, aqi: r.aqi, ...(r.level ? { level: r.level.level } : {}), primary: r.primary };
  }
}

/** Latest readings by device, with cadence and (for air devices) the open hour. */
export class Readings {
  readonly byDev = new Map<string, ReadingView>();
  private intervals = new Map<string, number[]>();
  private hours = new Map<string, OpenHour>();

  add(l: LiveReading): void {
    if (!l.m) return; // a city's hourly series carries no reading
    const prev = this.byDev.get(l.dev);
    if (prev && l.ts < prev.ts) return; // an older reading arriving late changes nothing shown
    const r: ReadingView = {
      dev: l.dev,
      kind: l.kind,
      ts: l.ts,
      m: l.m,
      f: l.f ?? {},
      ...(l.a ? { a: l.a } : {}),
      ...(l.verdict ? { verdict: l.verdict } : {}),
      ...(l.water ? { water: l.water } : {}),
    };
    if (prev && l.ts > prev.ts) {
      const iv = this.intervals.get(l.dev) ?? [];
      iv.push(l.ts - prev.ts);
      if (iv.length > INTERVALS_KEPT) iv.shift();
      this.intervals.set(l.dev, iv);
    }
    const iv = this.intervals.get(l.dev);
    if (iv?.length) r.cadenceMs = median(iv);
    this.byDev.set(l.dev, r);
    if (l.kind.startsWith('air.')) this.openHour(r);
  }

  /** The open hour of an air device, if this viewer has readings in it. */
  provisional(dev: string): ProvisionalAqi | undefined {
    return this.hours.get(dev)?.provisional();
  }

  private openHour(r: ReadingView): void {
    const hour = Math.floor(r.ts / HOUR) * HOUR;
    let h = this.hours.get(r.dev);
    if (!h || h.hour < hour) this.hours.set(r.dev, (h = new OpenHour(hour)));
    h.add(r);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
