// Air devices: hourly means from samples (≥ 45 minutes), rolling 24-hour and 8-hour means, the
// real-time (hourly) AQI of the edition in force, and the daily AQI when a day closes.
import type { SampleRecord } from '../../protocol/envelope.ts';
import { computeAqi, editionAt, type AqiInput, type AqiResult } from '../../standards/aqi.ts';
import { dailyMax8h, dailyMean, eightHourMean, HourAccumulator } from '../../standards/averages.ts';
import { BEIJING_OFFSET_MS, HOUR } from '../../protocol/time.ts';

export const AIR_POLLUTANTS = ['so2', 'no2', 'co', 'o3', 'pm10', 'pm25'] as const;
export type AirPollutant = (typeof AIR_POLLUTANTS)[number];
type P = AirPollutant;

export interface HourClosed {
  hourStart: number;
  /** Valid hourly means (null where the hour had too little data). */
  means: Record<P, number | null>;
  aqi: AqiResult;
  /** The daily-report AQI of the 24 hours ending with this one (the rolling 24-h AQI warnings use). */
  rolling: AqiResult;
  /** Set when this hour was the last of a Beijing calendar day. */
  day?: { dayStart: number; aqi: AqiResult };
}

/**
 * Closed hours whose running totals are kept, so samples that arrive late (a gateway sends its newest
 * data before its backlog) still count: the hour is recomputed and its rows written again.
 */
export const REVISABLE_HOURS = 6;

const newHour = (h: number) =>
  Object.fromEntries(AIR_POLLUTANTS.map((p) => [p, new HourAccumulator(h)])) as Record<P, HourAccumulator>;

/** Per-device rolling state: running totals of the open hour and the last few, and the last 48 hourly means. */
export class AirState {
  private hour = -1;
  private accs = new Map<number, Record<P, HourAccumulator>>();
  /** Closed hours that late samples have added to since they were last computed. */
  private revised = new Set<number>();
  /** The last hour restored from stored rows: final, since its samples are not here. */
  private restoredUntil = -1;
  /** Hourly means by hour start, newest last. */
  private hours: { start: number; means: Record<P, number | null> }[] = [];

  /** Start of the hour being accumulated, if any. */
  get openHour(): number | undefined {
    return this.hour === -1 ? undefined : this.hour;
  }

  /** Adds a sample; returns the hours it closed (usually none, one when a new hour begins). */
  add(r: SampleRecord, ts = r.ts): HourClosed[] {
    const h = Math.floor(ts / HOUR) * HOUR;
    const closed: HourClosed[] = [];
    if (this.hour === -1) {
      // After a restore, samples of hours already closed (a gateway's replay) must not reopen them.
      const last = this.hours[this.hours.length - 1]?.start;
      if (last !== undefined && h <= last) return closed;
      this.startHour(h);
    }
    if (h < this.hour) {
      // A late sample: it counts if its hour is still revisable, even one this worker never saw open
      // (it started while a gateway was sending newest first), but not an hour a restore closed.
      if (h < this.hour - REVISABLE_HOURS * HOUR || h <= this.restoredUntil) return closed;
      let acc = this.accs.get(h);
      if (!acc) this.accs.set(h, (acc = newHour(h)));
      this.addTo(acc, r, ts);
      this.revised.add(h);
      return closed;
    }
    if (h > this.hour) {
      closed.push(this.closeHour(this.hour));
      // Hours with no data at all still count (as missing) in the rolling windows.
      for (let g = this.hour + HOUR; g < h && closed.length < 48; g += HOUR) {
        this.startHour(g);
        closed.push(this.closeHour(g));
      }
      this.startHour(h);
    }
    this.addTo(this.accs.get(this.hour)!, r, ts);
    return closed;
  }

  private addTo(acc: Record<P, HourAccumulator>, r: SampleRecord, ts: number): void {
    for (const p of AIR_POLLUTANTS) {
      const v = r.m[p];
      if (v !== undefined) acc[p].add(ts, v, r.f?.[p]);
    }
  }

  /** Whether late samples went into closed hours since the last `revise`. */
  get lateSamples(): boolean {
    return this.revised.size > 0;
  }

  /**
   * Recomputes the closed hours late samples went into, and every closed hour after the first of them
   * (their rolling 24-h and 8-h means include it), oldest first. Empty when nothing arrived late.
   */
  revise(): HourClosed[] {
    if (this.revised.size === 0) return [];
    const from = Math.min(...this.revised);
    this.revised.clear();
    const out: HourClosed[] = [];
    for (let h = from; h < this.hour; h += HOUR) {
      const acc = this.accs.get(h);
      const kept = this.hours.find((x) => x.start === h)?.means;
      out.push(this.addHour(h, acc ? this.meansOf(acc) : (kept ?? this.meansOf(undefined))));
    }
    return out;
  }

  /** Seeds the hourly means of past hours (from the aqi rows a worker wrote before a restart). */
  restore(hours: { start: number; means: Record<P, number | null> }[]): void {
    this.hours = [...hours].sort((a, b) => a.start - b.start).slice(-48);
    this.restoredUntil = this.hours[this.hours.length - 1]?.start ?? -1;
  }

  private series(p: P, n: number, endStart: number): (number | null)[] {
    const out: (number | null)[] = [];
    for (let i = n - 1; i >= 0; i--)
      out.push(this.hours.find((x) => x.start === endStart - i * HOUR)?.means[p] ?? null);
    return out;
  }

  private startHour(h: number): void {
    this.hour = h;
    this.accs.set(h, newHour(h));
    for (const k of this.accs.keys()) if (k < h - REVISABLE_HOURS * HOUR) this.accs.delete(k);
  }

  private meansOf(acc: Record<P, HourAccumulator> | undefined): Record<P, number | null> {
    const means = {} as Record<P, number | null>;
    for (const p of AIR_POLLUTANTS) {
      const m = acc?.[p].mean();
      means[p] = m?.valid ? m.value : null;
    }
    return means;
  }

  /** Daily-report inputs from the 24 hourly means ending with the hour starting at `end`. */
  private dailyInput(end: number, edition: string): AqiInput {
    const day = (p: P) => {
      const m = dailyMean(this.series(p, 24, end));
      return m.valid ? m.value : null;
    };
    const o3 = this.series('o3', 24, end);
    const max8 = dailyMax8h(o3);
    const hours = o3.filter((v): v is number => v !== null);
    const input: AqiInput = {
      so2: day('so2'),
      no2: day('no2'),
      co: day('co'),
      pm10: day('pm10'),
      pm25: day('pm25'),
      o3_8h: max8.valid ? max8.value : null,
    };
    if (edition === '2012' && hours.length >= 20) input.o3_1h = Math.max(...hours);
    return input;
  }

  private closeHour(start: number): HourClosed {
    return this.addHour(start, this.meansOf(this.accs.get(start)));
  }

  /**
   * Adds a whole hour by its means and computes what closing it yields. Devices get here through
   * their samples; a city adds the means of its stations directly.
   */
  addHour(start: number, means: Record<P, number | null>): HourClosed {
    this.hours = this.hours.filter((x) => x.start !== start);
    this.hours.push({ start, means });
    if (this.hours.length > 1 && this.hours[this.hours.length - 2]!.start > start)
      this.hours.sort((a, b) => a.start - b.start); // a revised hour
    if (this.hours.length > 48) this.hours.shift();
    const edition = editionAt(start);
    const o3_8h = eightHourMean(this.series('o3', 8, start), 7);
    const so2_24h = dailyMean(this.series('so2', 24, start));
    const input: AqiInput = { so2: means.so2, no2: means.no2, co: means.co, o3_1h: means.o3 };
    if (edition === '2012') {
      // 2012 real-time report: PM IAQIs from the 24-h moving means, O3 also from its 8-h moving mean.
      const pm10 = dailyMean(this.series('pm10', 24, start));
      const pm25 = dailyMean(this.series('pm25', 24, start));
      Object.assign(input, {
        pm10: pm10.valid ? pm10.value : null,
        pm25: pm25.valid ? pm25.value : null,
        o3_8h: o3_8h.valid ? o3_8h.value : null,
        so2_24h: so2_24h.valid ? so2_24h.value : null,
      });
    } else {
      Object.assign(input, { pm10: means.pm10, pm25: means.pm25 });
    }
    const rolling = computeAqi(this.dailyInput(start, edition), edition, 'daily');
    const closed: HourClosed = { hourStart: start, means, aqi: computeAqi(input, edition, 'hourly'), rolling };
    // The hour 23:00–24:00 Beijing time ends a calendar day: the daily report is the rolling one of that hour.
    if (((start + BEIJING_OFFSET_MS) / HOUR) % 24 === 23) {
      const dayStart = start - 23 * HOUR;
      closed.day = {
        dayStart,
        aqi:
          editionAt(dayStart) === edition
            ? rolling
            : computeAqi(this.dailyInput(start, editionAt(dayStart)), editionAt(dayStart), 'daily'),
      };
    }
    return closed;
  }
}
