// SIM-WATER: an automatic surface-water station on a river section (ST 21), or at a drinking-water
// source, judged against GB 3838 (class III for sections, II for sources). A multi-parameter sonde reads
// water temperature, pH, DO and conductivity continuously: DO follows saturation at the water
// temperature plus the day's photosynthesis (highest mid-afternoon, pH with it). The DO membrane
// fouls between fortnightly cleanings, reading up to ~1.7 mg/L low until the technician cleans it
// (the cleaning hour is flagged M and the drift resets). Wet-chemistry analysers (CODMn, NH3-N, TP,
// TN) run a cycle every 4 hours and hold the result until the next; one cycle a week is a calibration
// (flag C). `excursion` is an ammonia spill: NH3-N of class V and oxygen drawn down below class III.
import { smoothNoise } from '../random.ts';
import { clamp, localDay, localHour, round, type Reading } from './reading.ts';
import { HOUR } from '../../protocol/time.ts';

export interface WaterOptions {
  /** A drinking-water source (cleaner water, class II) rather than a river section. */
  source?: boolean;
  /** An ammonia spill now: NH3-N ≈ 2.4 mg/L and DO ≈ 2.5 mg/L. */
  excursion?: boolean;
}

export interface WaterReading extends Reading {
  /** How far the fouled DO membrane reads low, mg/L. */
  doDrift: number;
}

const CLEAN_DAYS = 14;
const CYCLE = 4 * HOUR;

/** Dissolved-oxygen saturation (mg/L) at a water temperature, sea level; Hohhot's 1050 m takes ~12 % off. */
export function doSaturation(tempC: number): number {
  return 14.62 - 0.3898 * tempC + 0.006969 * tempC ** 2 - 0.00005897 * tempC ** 3;
}

export function waterReading(seed: number, t: Date, o: WaterOptions = {}): WaterReading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const day = localDay(ms);
  const n = (period: number, k: number, at = s) => smoothNoise(seed * 47 + k, at, period);
  const seasonal = -Math.cos(((((ms / 86_400_000) % 365.25) - 20) / 365.25) * 2 * Math.PI); // −1 in January
  const waterT = clamp(9 + 10 * seasonal + 1.2 * Math.sin(((h - 10) / 24) * 2 * Math.PI) + 0.5 * n(7200, 1), 0.2, 30);
  const photo = Math.max(0, Math.sin(((h - 7) / 14) * Math.PI)); // daylight, peak mid-afternoon
  const daysSinceCleaning = ((day + seed) % CLEAN_DAYS) + h / 24;
  const doDrift = 0.12 * daysSinceCleaning;
  const cleaning = (day + seed) % CLEAN_DAYS === 0 && h >= 10 && h < 11;
  const trueDo = doSaturation(waterT) * 0.88 * (o.source ? 0.95 : 0.85) + 1.2 * photo + 0.2 * n(1800, 2);
  const spill = o.excursion ? 1 : 0;
  const do_ = clamp(trueDo - (cleaning ? 0 : doDrift) - spill * (trueDo - 2.5), 0, 20);
  const ph = 7.7 + 0.35 * photo + 0.05 * n(3600, 3) - 0.4 * spill;
  const cond = (o.source ? 380 : 720) + 60 * n(6 * 3600, 4);
  // Analysers: the result of the cycle that began at the last 4-hour boundary.
  const cycle = Math.floor(ms / CYCLE) * CYCLE;
  const cs = Math.floor(cycle / 1000);
  const a = (mid: number, span: number, k: number) => mid + span * n(12 * 3600, k, cs);
  const nh3n = o.excursion ? 2.4 : o.source ? a(0.18, 0.08, 5) : a(0.55, 0.25, 5);
  const r: WaterReading = {
    m: {
      water_t: round(waterT, 1),
      ph: round(ph, 2),
      do: round(do_, 2),
      cond: round(cond, 0),
      codmn: round(o.source ? a(2.0, 0.5, 6) : a(4.0, 1.0, 6), 2),
      nh3n: round(nh3n, 3),
      tp: round(o.source ? a(0.05, 0.015, 7) : a(0.12, 0.04, 7), 3),
      tn: round(o.source ? a(0.8, 0.2, 8) : a(1.8, 0.5, 8), 2),
    },
    f: {},
    doDrift: cleaning ? 0 : doDrift,
  };
  if (cleaning) for (const k of ['water_t', 'ph', 'do', 'cond']) r.f[k] = 'M';
  // One analyser cycle a week is a calibration (Wednesday noon's, staggered by seed).
  if ((day + seed) % 7 === 0 && Math.floor(localHour(cycle) / 4) === 3)
    for (const k of ['codmn', 'nh3n', 'tp', 'tn']) r.f[k] = 'C';
  return r;
}
