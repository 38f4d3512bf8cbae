// GB 3096-2008 environmental noise limits, L_Aeq dB(A) (docs/standards/limits.md §7): by functional zone class,
// day (06:00–22:00) and night (22:00–06:00) in Beijing time; at night L_max may not exceed the limit
// by more than 15 dB(A).
import { beijingHour } from '../protocol/time.ts';

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
