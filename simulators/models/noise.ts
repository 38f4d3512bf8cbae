// SIM-NOISE: an acoustic-environment point (GB 3096-2008 zone 2 levels: 60 dB(A) by day, 50 at night,
// Lmax at night ≤ 65) reporting each minute's Leq with its percentile levels. Traffic makes the day:
// the quietest hour is 03:00–04:00, rush hours peak at 08:00 and 18:00; the background L90 sits 6–8 dB
// below Leq, L10 2–3 dB above it, and passing lorries throw Lmax 10–20 dB over. The daily check with an
// acoustic calibrator at 09:00 reads its 94 dB tone (two minutes, flag C). `excursion` is night-time
// construction: Leq ≈ 62 and Lmax ≈ 85 dB(A).
import { smoothNoise } from '../random.ts';
import { bell, localHour, round, type Reading } from './reading.ts';

export interface NoiseOptions {
  /** Construction noise now: Leq ≈ 62 dB(A), Lmax ≈ 85. */
  excursion?: boolean;
}

export const NOISE_FIELDS = ['leq', 'l10', 'l50', 'l90', 'lmax', 'lmin'] as const;

/** Traffic in [0, 1] over a Beijing day. */
export function traffic(h: number): number {
  const base = h >= 6 && h < 22 ? 0.55 : h >= 22 || h < 1 ? 0.3 : 0.12;
  return Math.min(1, base + 0.45 * bell(h, 8, 2) + 0.45 * bell(h, 18, 2.5));
}

export function noiseReading(seed: number, t: Date, o: NoiseOptions = {}): Reading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const n = (period: number, k: number) => smoothNoise(seed * 59 + k, s, period);
  const site = ((seed * 7919) % 7) - 3; // points differ by −3 … +3 dB
  const leq = o.excursion ? 62 + n(120, 1) : 40 + site + 16 * traffic(h) + 1.5 * n(300, 1);
  const lorry = Math.max(0, n(90, 2));
  const r: Reading = {
    m: {
      leq: round(leq, 1),
      l10: round(leq + 2.5 + 0.5 * n(600, 3), 1),
      l50: round(leq - 2.5 + 0.5 * n(600, 4), 1),
      l90: round(leq - 7 + n(600, 5), 1),
      lmax: round(o.excursion ? 85 + 2 * n(60, 6) : leq + 10 + 10 * lorry, 1),
      lmin: round(leq - 10 + n(600, 7), 1),
    },
    f: {},
  };
  if (!o.excursion && h >= 9 && h < 9 + 2 / 60) {
    for (const k of NOISE_FIELDS) r.m[k] = 94;
    for (const k of NOISE_FIELDS) r.f[k] = 'C';
  }
  return r;
}
