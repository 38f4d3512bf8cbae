// GB 3096-2008 environmental noise limits, L_Aeq dB(A) (docs/standards/limits.md §7): by functional zone class,
// day (06:00–22:00) and night (22:00–06:00) in Beijing time; at night L_max may not exceed the limit
// by more than 15 dB(A).
import { beijingHour, HOUR } from '../protocol/time.ts';

export type NoiseZone = '0' | '1' | '2' | '3' | '4a' | '4b';

export const NOISE_LIMITS: Record<NoiseZone, { day: number; night: number }> = {
  '0': { day: 50, night: 40 },
  '1': { day: 55, night: 45 },
  '2': { day: 60, night: 50 },
  '3': { day: 65, night: 55 },
  '4a': { day: 70, night: 55 },
  '4b': { day: 70, night: 60 },
};

export const NIGHT_LMAX_MARGIN = 15;

export function isNight(ts: number): boolean {
  const h = beijingHour(ts);
  return h >= 22 || h < 6;
}

export interface NoiseCheck {
  period: 'day' | 'night';
  limit: number;
  leqOver: boolean;
  lmaxLimit?: number;
  lmaxOver: boolean;
}

export function checkNoise(zone: NoiseZone, ts: number, leq?: number, lmax?: number): NoiseCheck {
  const night = isNight(ts);
  const limit = NOISE_LIMITS[zone][night ? 'night' : 'day'];
  const r: NoiseCheck = {
    period: night ? 'night' : 'day',
    limit,
    leqOver: leq !== undefined && leq > limit,
    lmaxOver: false,
  };
  if (night) {
    r.lmaxLimit = limit + NIGHT_LMAX_MARGIN;
    r.lmaxOver = lmax !== undefined && lmax > r.lmaxLimit;
  }
  return r;
}

/**
 * Start of the day (06:00) or night (22:00) period holding `ts`, Beijing time: the period a day level
 * L_d or night level L_n averages over.
 */
export function periodStart(ts: number): number {
  const h = beijingHour(ts);
  const hourStart = Math.floor(ts / HOUR) * HOUR;
  if (h >= 6 && h < 22) return hourStart - (h - 6) * HOUR;
  return hourStart - (h >= 22 ? h - 22 : h + 2) * HOUR;
}

/** Hours in a period: 16 by day, 8 at night. */
export const periodHours = (start: number): number => (isNight(start) ? 8 : 16);

/**
 * The energy (equivalent-level) mean of levels in dB: 10·lg(mean of 10^(L/10)). Levels are never
 * averaged arithmetically: one loud minute weighs more than many quiet ones.
 */
export const energyMean = (sumPower: number, n: number): number => 10 * Math.log10(sumPower / n);
export const power = (level: number): number => 10 ** (level / 10);
