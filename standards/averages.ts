// Valid means (GB 3095 Table 4 / HJ 212 Appendix D; docs/standards/aqi.md §2): hourly means need at
// least 45 minutes of data, 24-hour means at least 20 hourly means, 8-hour moving means at least 6 of 8.
// Data flagged F, M, D, C or B are left out; T (over the instrument's range) is kept and marked.
import { HOUR } from '../protocol/time.ts';

export interface Sample {
  ts: number;
  value: number;
  flag?: string;
}
export interface Mean {
  value: number | null;
  count: number;
  valid: boolean;
  marked: boolean;
}

const EXCLUDED = new Set(['F', 'M', 'D', 'C', 'B']);
export const isUsable = (flag?: string): boolean => !flag || !EXCLUDED.has(flag);

export const MIN_MINUTES_PER_HOUR = 45;
export const MIN_HOURS_PER_DAY = 20;
export const MIN_HOURS_PER_8H = 6;

/**
 * Hourly mean of the samples in [hourStart, hourStart + 1 h): the arithmetic mean of the usable
 * samples, valid when they cover at least 45 distinct minutes of the hour.
 */
export function hourlyMean(samples: Sample[], hourStart: number): Mean {
  const acc = new HourAccumulator(hourStart);
  for (const x of samples) acc.add(x.ts, x.value, x.flag);
  return acc.mean();
}

/**
 * The hourly-mean rule kept as running totals: a device sampling every second holds 60 flags and two
 * numbers per pollutant instead of 3,600 samples.
 */
export class HourAccumulator {
  private sum = 0;
  private n = 0;
  private minutes = new Uint8Array(60);
  private covered = 0;
  private marked = false;

  constructor(readonly hourStart: number) {}

  add(ts: number, value: number, flag?: string): void {
    if (ts < this.hourStart || ts >= this.hourStart + HOUR || !isUsable(flag) || !Number.isFinite(value)) return;
    const m = Math.floor((ts - this.hourStart) / 60_000);
    if (!this.minutes[m]) {
      this.minutes[m] = 1;
      this.covered++;
    }
    this.sum += value;
    this.n++;
    if (flag === 'T') this.marked = true;
  }

  mean(): Mean {
    return {
      value: this.n ? this.sum / this.n : null,
      count: this.covered,
      valid: this.covered >= MIN_MINUTES_PER_HOUR,
      marked: this.marked,
    };
  }
}

function meanOf(values: (number | null)[], min: number): Mean {
  const ok = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return {
    value: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null,
    count: ok.length,
    valid: ok.length >= min,
    marked: false,
  };
}

/** 24-hour mean from the hourly means of a calendar day (null = missing or invalid hour). */
export function dailyMean(hourly: (number | null)[]): Mean {
  return meanOf(hourly, MIN_HOURS_PER_DAY);
}

/** 8-hour moving mean ending with hourly[end] (the means of hours end-7 … end). */
export function eightHourMean(hourly: (number | null)[], end: number): Mean {
  return meanOf(hourly.slice(Math.max(0, end - 7), end + 1), MIN_HOURS_PER_8H);
}

/**
 * Daily maximum 8-hour mean: the largest valid 8-hour moving mean ending in hours 07 … 23 of the day.
 * `hourly` holds the day's 24 hourly means (hour 0 first). Windows that would reach into the previous
 * day are not formed here (HJ 663 details are not in our reference).
 */
export function dailyMax8h(hourly: (number | null)[]): Mean {
  let best: Mean = { value: null, count: 0, valid: false, marked: false };
  for (let end = 7; end < 24; end++) {
    const m = eightHourMean(hourly, end);
    if (m.valid && (best.value === null || m.value! > best.value)) best = m;
  }
  return best;
}
