// SIM-FUMES: a catering-fume monitor on a restaurant's exhaust (GB 18483-2001, limit 2.0 mg/m³;
// docs/standards/limits.md §3). The kitchen cooks at lunch (10:30–14:00, peak 12:00) and
// dinner (16:30–21:30, peak 18:30), some sites late into the night; outside those hours the fan is off
// and the reading sits near zero. With the electrostatic purifier on, fumes stay 0.2–1.2 mg/m³ with
// stir-fry spikes; its plates foul over a 30-day cleaning cycle, so the treated level creeps up; on a
// few days the purifier is left off and the untreated exhaust (≈ 2–4 mg/m³ at the peaks) goes out.
// A monthly sensor maintenance between meals is flagged M. `excursion` forces cooking with the purifier off.
import { hash01, smoothNoise } from '../random.ts';
import { bell, clamp, localDay, localHour, round, type Reading } from './reading.ts';

export interface FumesOptions {
  /** Cook at full tilt with the purifier off: fumes well past 2.0 mg/m³. */
  excursion?: boolean;
}

export interface FumesReading extends Reading {
  fan: boolean;
  purifier: boolean;
}

/** Kitchen activity in [0, 1] at Beijing hour `h`; late-night sites keep cooking until 02:00. */
export function cooking(h: number, lateNight: boolean): number {
  const lunch = h >= 10.5 && h < 14 ? 0.35 + 0.65 * bell(h, 12, 2) : 0;
  const dinner = h >= 16.5 && h < 21.5 ? 0.35 + 0.65 * bell(h, 18.75, 2.75) : 0;
  const late = lateNight && (h >= 21.5 || h < 2) ? 0.45 : 0;
  return Math.max(lunch, dinner, late);
}

export function fumesReading(seed: number, t: Date, o: FumesOptions = {}): FumesReading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const day = localDay(ms);
  const n = (period: number, k: number) => smoothNoise(seed * 37 + k, s, period);
  const activity = o.excursion ? 1 : cooking(h, seed % 7 === 0);
  const fan = activity > 0;
  // The purifier is left off on about one day in 20, from the dinner service on.
  const purifier = !o.excursion && !(hash01(seed, day, 5) < 0.05 && h >= 16.5);
  // Electrostatic plates foul over a 30-day cleaning cycle: efficiency 85 % → 65 %.
  const cycle = ((day + seed * 11) % 30) / 30;
  const efficiency = 0.85 - 0.2 * cycle;
  const stirFry = Math.max(0, n(240, 1)) ** 3 * 2.5; // short bursts over the woks
  const untreated = fan ? (2.6 + 0.6 * n(900, 2)) * activity * (1 + stirFry) + 0.3 : 0;
  const fumes = fan ? untreated * (purifier ? 1 - efficiency : 1) : 0.02 + 0.01 * (n(600, 3) + 1);
  const nmhc = fan
    ? (purifier ? 1.5 + 5 * activity : 10.9 * activity) * (1 + 0.15 * n(600, 4))
    : 0.6 + 0.1 * n(3600, 5);
  const r: FumesReading = {
    m: { fumes: round(clamp(fumes, 0, 50), 3), nmhc: round(clamp(nmhc, 0, 100), 2) },
    f: {},
    fan,
    purifier,
  };
  // Monthly sensor maintenance, 15:00–15:30 between the services.
  if ((day + seed) % 30 === 0 && h >= 15 && h < 15.5) r.f = { fumes: 'M', nmhc: 'M' };
  return r;
}
