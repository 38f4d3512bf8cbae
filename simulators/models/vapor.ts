// SIM-VAPOR: a gas station's vapour-recovery online monitoring (GB 20952-2020 Appendix E;
// docs/standards/limits.md §5). Each nozzle is a device sending one record per fuelling (A/L and litres);
// the station's sensor device sends tank gauge pressure and the unloading point's vapour concentration
// every 30 s. Fuellings follow the day (commuter peaks at 08:00 and 18:00, few at night), 15 % of them
// under 15 L (not valid for A/L). A healthy nozzle's A/L is N(1.10, 0.06); on a quarter of the nozzles
// the vapour path slowly clogs over a 90-day service cycle, A/L drifting down by up to 0.45 until the
// service. One station in twenty leaks: its pressure stays pinned within ±50 Pa. The daily tanker
// delivery lifts pressure and concentration. `excursion` forces A/L 0.5 and 9 000 µmol/mol now.
import type { SampleRecord } from '../../protocol/envelope.ts';
import { hash01, smoothNoise } from '../random.ts';
import { bell, clamp, gauss, localDay, localHour, round } from './reading.ts';

export interface VaporOptions {
  /** A blocked vapour path and a leak at the unloading point: A/L 0.5, concentration 9 000 µmol/mol. */
  excursion?: boolean;
}

export interface VaporSite {
  /** The station's sensor device; nozzles are `${dev}-n1` … */
  dev: string;
  seed: number;
  nozzles: number;
  options?: VaporOptions;
}

/** Fuellings start in 4-minute slots, at most one per slot and nozzle. */
const SLOT_MS = 4 * 60_000;
const PRESSURE_MS = 30_000;
const SERVICE_DAYS = 90;

export const nozzleIds = (v: VaporSite): string[] => Array.from({ length: v.nozzles }, (_, i) => `${v.dev}-n${i + 1}`);

/** Fuellings an hour per nozzle at Beijing hour `h`. */
export function fuellingsPerHour(h: number): number {
  return 0.6 + 4 * bell(h, 8, 2.5) + 4.5 * bell(h, 18, 3) + 2 * bell(h, 13, 3.5) + (h >= 6 && h < 22 ? 1.5 : 0);
}

/** How far a nozzle's A/L has drifted down on a day (0 on healthy nozzles). */
export function alDrift(seed: number, nozzle: number, ms: number): number {
  if (hash01(seed, nozzle, 31) >= 0.25) return 0;
  const age = ((localDay(ms) + Math.floor(hash01(seed, nozzle, 32) * SERVICE_DAYS)) % SERVICE_DAYS) / SERVICE_DAYS;
  return 0.45 * age ** 2;
}

/** The fuelling of nozzle `k` (1-based) in the slot starting at `slot`, if there is one. */
export function fuelling(v: VaporSite, k: number, slot: number): SampleRecord | undefined {
  const s = slot / SLOT_MS;
  const rate = fuellingsPerHour(localHour(slot));
  if (!v.options?.excursion && hash01(v.seed, k, s, 1) >= (rate * SLOT_MS) / 3_600_000) return undefined;
  const ts = slot + Math.floor((hash01(v.seed, k, s, 2) * (SLOT_MS - 1000)) / 1000) * 1000;
  const small = hash01(v.seed, k, s, 3) < 0.15;
  const fuel = small ? 5 + hash01(v.seed, k, s, 4) * 9.9 : 20 + hash01(v.seed, k, s, 4) * 40;
  const al = v.options?.excursion ? 0.5 : 1.1 + 0.06 * gauss(v.seed, k, s, 5) - alDrift(v.seed, k, ts);
  return {
    dev: `${v.dev}-n${k}`,
    kind: 'vapor',
    ts,
    m: { al: round(clamp(al, 0, 3), 3), fuel_l: round(fuel, 2) },
  };
}

/** The station sensors' sample at `ts` (a multiple of 30 s). */
export function vaporSensors(v: VaporSite, ts: number): SampleRecord {
  const s = ts / 1000;
  const h = localHour(ts);
  const n = (period: number, k: number) => smoothNoise(v.seed * 61 + k, s, period);
  const leaking = hash01(v.seed, 71) < 0.05;
  const delivery = bell(h, 5 + (v.seed % 4), 0.5); // the tanker unloads before the morning rush
  const pressure = leaking
    ? 20 * n(600, 1)
    : 120 + 180 * n(5400, 2) + 150 * bell(h, 15, 5) + 250 * delivery - 60 * (fuellingsPerHour(h) / 10);
  const conc = v.options?.excursion ? 9000 + 200 * n(60, 3) : 180 + 120 * (n(1200, 4) + 1) + 2200 * delivery;
  return {
    dev: v.dev,
    kind: 'vapor',
    ts,
    m: { tank_p: round(clamp(pressure, -3000, 3000), 1), vapor_conc: Math.round(clamp(conc, 0, 20000)) },
  };
}

/** Every record of a station in (from, to]: fuellings as they end and sensor samples on the 30 s grid. */
export function vaporRecords(v: VaporSite, from: number, to: number): SampleRecord[] {
  const out: SampleRecord[] = [];
  for (let slot = Math.floor(from / SLOT_MS) * SLOT_MS; slot <= to; slot += SLOT_MS)
    for (let k = 1; k <= v.nozzles; k++) {
      const f = fuelling(v, k, slot);
      if (f && f.ts > from && f.ts <= to) out.push(f);
    }
  for (let ts = Math.floor(from / PRESSURE_MS) * PRESSURE_MS + PRESSURE_MS; ts <= to; ts += PRESSURE_MS)
    out.push(vaporSensors(v, ts));
  return out.sort((a, b) => a.ts - b.ts);
}
