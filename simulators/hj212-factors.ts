// Readings by registry key as an HJ 212 logger uploads them: real-time factors (CN 2011: -Rtd, -ZsRtd,
// -Flag) and interval data (CN 2051/2061/2031: -Min/-Avg/-Max, -ZsMin/-ZsAvg/-ZsMax, -Cou for flows)
// worked out from the model sampled over the interval, as a logger averages its own samples. Keys
// HJ 212-2017 gives no code (catering fumes) take the platform's code from `codes`.
import { parseFieldName, pollutant } from '../protocol/pollutants.ts';
import type { Factors } from './hj212-logger.ts';
import type { Reading } from './models/reading.ts';

/** Registry key → factor code, for keys without an HJ 212 code (or to send another code). */
export type Codes = Record<string, string>;

/** Flags that leave a sample out of an interval's statistics (HJ 212 Appendix C: only valid data). */
const INVALID = new Set(['F', 'M', 'D', 'C', 'B']);
/** Sound levels average as energy, not as numbers. */
const SOUND = new Set(['leq', 'la', 'l5', 'l10', 'l50', 'l90', 'l95', 'lmax', 'lmin', 'ld', 'ln', 'ldn']);
/** Flows whose interval total (-Cou) is sent: the unit factor from the rate (per s) to the total (m³). */
const TOTALS: Record<string, number> = { water_flow: 0.001, gas_flow: 1 };

export function codeOf(key: string, codes: Codes = {}): string {
  const code = codes[key] ?? pollutant(key)?.hj212;
  if (!code) throw new Error(`registry key ${key} has no HJ 212 code: give the device one in codes`);
  return code;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** A real-time upload's factors. */
export function rtFactors(r: Reading, codes: Codes = {}): Factors {
  const out: Factors = {};
  for (const [name, v] of Object.entries(r.m)) {
    const p = parseFieldName(name)!;
    const code = codeOf(p.key, codes);
    const f = (out[code] ??= {});
    f[p.suffix === 'zs' ? 'ZsRtd' : 'Rtd'] = v;
  }
  for (const [name, f] of Object.entries(out)) f.Flag = flagOf(r, name, codes);
  return out;
}

function flagOf(r: Reading, code: string, codes: Codes): string {
  for (const key of Object.keys(r.f)) if (codeOf(key, codes) === code) return r.f[key]!;
  return 'N';
}

/**
 * Interval data over [from, from + lengthMs) from the model sampled every `stepMs`: min, mean and max
 * of the valid samples (all samples, flagged as the most common flag, when none is valid).
 */
export function intervalFactors(
  at: (t: Date) => Reading,
  from: number,
  lengthMs: number,
  stepMs: number,
  codes: Codes = {},
): Factors {
  const samples: Reading[] = [];
  for (let t = from; t < from + lengthMs; t += stepMs) samples.push(at(new Date(t)));
  const out: Factors = {};
  for (const name of Object.keys(samples[0]!.m)) {
    const p = parseFieldName(name)!;
    const valid = samples.filter((s) => !INVALID.has(s.f[p.key] ?? 'N'));
    const use = valid.length ? valid : samples;
    const vs = use.map((s) => s.m[name]!).filter((v) => v !== undefined);
    const mean = SOUND.has(p.key)
      ? 10 * Math.log10(vs.reduce((a, v) => a + 10 ** (v / 10), 0) / vs.length)
      : vs.reduce((a, v) => a + v, 0) / vs.length;
    const zs = p.suffix === 'zs' ? 'Zs' : '';
    const f = (out[codeOf(p.key, codes)] ??= {});
    f[`${zs}Min`] = r4(Math.min(...vs));
    f[`${zs}Avg`] = r4(mean);
    f[`${zs}Max`] = r4(Math.max(...vs));
    if (!zs && TOTALS[p.key] !== undefined) f.Cou = r4(mean * (lengthMs / 1000) * TOTALS[p.key]!);
    f.Flag = valid.length ? 'N' : mostCommon(samples.map((s) => s.f[p.key] ?? 'N'));
  }
  return out;
}

function mostCommon(xs: string[]): string {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]![0];
}

/**
 * Interval data from real-time factors (`-Rtd`, `-ZsRtd`, `-Flag`) sampled every `stepMs`: what a logger
 * whose instrument speaks HJ 212 factors (not registry readings) uploads at a boundary. Samples flagged
 * F, M, D, C or B are left out, and the interval takes the commonest flag when none is valid.
 */
export function rtIntervalFactors(at: (t: Date) => Factors, from: number, lengthMs: number, stepMs: number): Factors {
  const samples: Factors[] = [];
  for (let t = from; t < from + lengthMs; t += stepMs) samples.push(at(new Date(t)));
  const out: Factors = {};
  for (const code of Object.keys(samples[0]!)) {
    const all = samples.map((s) => s[code]!).filter(Boolean);
    const valid = all.filter((f) => !INVALID.has(String(f.Flag ?? 'N')));
    const use = valid.length ? valid : all;
    const f: Record<string, string | number> = {};
    for (const [suffix, zs] of [
      ['Rtd', ''],
      ['ZsRtd', 'Zs'],
    ] as const) {
      const vs = use.map((x) => Number(x[suffix])).filter((v) => Number.isFinite(v));
      if (!vs.length) continue;
      f[`${zs}Min`] = r4(Math.min(...vs));
      f[`${zs}Avg`] = r4(vs.reduce((a, v) => a + v, 0) / vs.length);
      f[`${zs}Max`] = r4(Math.max(...vs));
    }
    f.Flag = valid.length ? 'N' : mostCommon(all.map((x) => String(x.Flag ?? 'N')));
    out[code] = f;
  }
  return out;
}
