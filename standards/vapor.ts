// Gas-station vapour-recovery online monitoring, GB 20952-2020 Appendix E.3.3 (docs/standards/limits.md §5).
// A/L-1: in a natural day, a nozzle whose valid A/L (fuellings ≥ 15 L) lies outside 0.9–1.3 on more
//        than 25 % of its fuellings is in warning. A/L-4: fewer than 5 valid fuellings are not judged;
//        they carry over to the next day(s). A/L-2: warning 7 days in a row → alarm. A/L-3: valid A/L
//        outside 0.6–1.5 for a whole natural day → alarm at once.
// P-1: gauge pressure staying within −50 … +50 Pa for more than 12 h of a day → warning; P-2: 7 days → alarm.
// C-1 / C-2: concentration ≥ 4 000 µmol/mol → warning, ≥ 8 000 → alarm, at once.

export const AL_WARN = [0.9, 1.3] as const;
export const AL_ALARM = [0.6, 1.5] as const;
export const AL_MIN_FUEL_L = 15;
export const AL_MIN_FUELLINGS = 5;
export const AL_WARN_SHARE = 0.25;
export const ESCALATE_DAYS = 7;
export const PRESSURE_BAND_PA = [-50, 50] as const;
export const PRESSURE_MAX_FLAT_MS = 12 * 3_600_000;
export const CONC_WARN = 4000;
export const CONC_ALARM = 8000;

/** 0 normal, 1 warning (预警), 2 alarm (报警). */
export type VaporLevel = 0 | 1 | 2;

/** Valid fuellings of a nozzle not yet judged (this day's, plus those carried over). */
export interface AlTally {
  valid: number;
  outsideWarn: number;
  outsideAlarm: number;
}

export function addFuelling(t: AlTally, al: number, fuelL: number): void {
  if (!(fuelL >= AL_MIN_FUEL_L) || !Number.isFinite(al)) return;
  t.valid++;
  if (al < AL_WARN[0] || al > AL_WARN[1]) t.outsideWarn++;
  if (al < AL_ALARM[0] || al > AL_ALARM[1]) t.outsideAlarm++;
}

export interface AlVerdict {
  /** null: not judged (fewer than 5 valid fuellings); the tally carries over. */
  level: VaporLevel | null;
  /** Warning days in a row, this one included. */
  warnDays: number;
  carry: AlTally;
}

/** Judges a nozzle's natural day. `warnDays` is the run of warning days before it. */
export function judgeAlDay(t: AlTally, warnDays: number): AlVerdict {
  if (t.valid < AL_MIN_FUELLINGS) return { level: null, warnDays, carry: t };
  const empty = { valid: 0, outsideWarn: 0, outsideAlarm: 0 };
  // A/L-3. Such a day is a warning day too (every fuelling is outside 0.9–1.3): it extends the A/L-2 run.
  if (t.outsideAlarm === t.valid) return { level: 2, warnDays: warnDays + 1, carry: empty };
  if (t.outsideWarn / t.valid > AL_WARN_SHARE) {
    const days = warnDays + 1;
    return { level: days >= ESCALATE_DAYS ? 2 : 1, warnDays: days, carry: empty }; // A/L-1, A/L-2
  }
  return { level: 0, warnDays: 0, carry: empty };
}

/**
 * Samples further apart than this do not show the pressure stayed in the band between them (the
 * standard samples at 30 s or less): a sensor that was offline for hours has not shown a flat tank.
 */
export const PRESSURE_MAX_GAP_MS = 5 * 60_000;

/** Tracks, sample by sample, the longest stretch of a day with pressure inside the ±50 Pa band. */
export class FlatPressure {
  private runStart: number | null = null;
  private last = -Infinity;
  longestMs = 0;

  add(ts: number, pa: number): void {
    if (ts - this.last > PRESSURE_MAX_GAP_MS) this.runStart = null;
    this.last = ts;
    if (pa >= PRESSURE_BAND_PA[0] && pa <= PRESSURE_BAND_PA[1]) {
      this.runStart ??= ts;
      this.longestMs = Math.max(this.longestMs, ts - this.runStart);
    } else this.runStart = null;
  }
}

/** P-1 / P-2 for a day with the given longest flat stretch; `warnDays` is the run before it. */
export function judgePressureDay(longestFlatMs: number, warnDays: number): { level: VaporLevel; warnDays: number } {
  if (longestFlatMs <= PRESSURE_MAX_FLAT_MS) return { level: 0, warnDays: 0 };
  const days = warnDays + 1;
  return { level: days >= ESCALATE_DAYS ? 2 : 1, warnDays: days };
}

export function concentrationLevel(umolPerMol: number): VaporLevel {
  return umolPerMol >= CONC_ALARM ? 2 : umolPerMol >= CONC_WARN ? 1 : 0;
}
