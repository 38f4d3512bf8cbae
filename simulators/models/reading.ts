// What the models of the field-device classes return: readings by registry key (protocol/pollutants.ts),
// each with its HJ 212 data flag when not normal, plus the clock helpers they share. Like every model,
// readings are pure functions of seed and time.
import { hash01 } from '../random.ts';
import * as T from '../../protocol/time.ts';

export interface Reading {
  /** Registry key (or key_zs for a converted value) → value in the key's unit. */
  m: Record<string, number>;
  /** Registry key → HJ 212 flag (C calibration, M maintenance, D fault …); absent = N. */
  f: Record<string, string>;
}

/** Hour of day in Beijing time, fractional. */
export const localHour = (ms: number): number => ((((ms + T.BEIJING_OFFSET_MS) % T.DAY) + T.DAY) % T.DAY) / T.HOUR;

/** Days since the epoch in Beijing time, whole. */
export const localDay = (ms: number): number => Math.floor((ms + T.BEIJING_OFFSET_MS) / T.DAY);

/** Day of week in Beijing time, 0 Sunday … 6 Saturday. */
export const weekday = (ms: number): number => (localDay(ms) + 4) % 7;

/** A bump of height 1 centred on `at` hours with half-width `w` hours (a cosine bell, 0 outside). */
export const bell = (h: number, at: number, w: number): number =>
  Math.abs(h - at) >= w ? 0 : (1 + Math.cos((Math.PI * (h - at)) / w)) / 2;

/** A standard normal deviate from two hashed uniforms (Box–Muller). */
export function gauss(...xs: number[]): number {
  const u = Math.max(1e-9, hash01(...xs, 1));
  const v = hash01(...xs, 2);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
export const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
