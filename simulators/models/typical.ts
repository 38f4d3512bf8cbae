// Typical values of the registry's fields, in the registry's units (protocol/pollutants.ts), for the
// generic template model: a level, a daily cycle peaking at a local hour, noise, and a plausible range.
// Stacks report concentrations in mg/m³ (docs/standards/limits.md §2), so their gases get their own levels.

export interface Typical {
  base: number;
  /** Amplitude of the daily cycle; its maximum is at `peak` (hour of day, Beijing time). */
  daily: number;
  peak: number;
  noise: number;
  min: number;
  max: number;
}

const T = (base: number, daily: number, peak: number, noise: number, min: number, max: number): Typical => ({
  base,
  daily,
  peak,
  noise,
  min,
  max,
});

const AMBIENT: Record<string, Typical> = {
  pm25: T(35, 10, 22, 8, 1, 500),
  pm10: T(65, 15, 21, 15, 2, 1000),
  pm1: T(22, 6, 22, 5, 1, 400),
  tsp: T(120, 25, 21, 25, 5, 2000),
  so2: T(10, 3, 10, 3, 1, 500),
  no2: T(30, 12, 8, 6, 2, 400),
  no: T(0.01, 0.008, 8, 0.004, 0, 1),
  nox: T(0.06, 0.02, 8, 0.01, 0, 1),
  co: T(0.6, 0.2, 8, 0.1, 0.05, 10),
  o3: T(70, 45, 15, 10, 2, 400),
  temp: T(15, 5, 15, 1.5, -40, 50),
  rh: T(50, 15, 4, 8, 5, 100),
  pressure: T(100.5, 0.2, 10, 0.3, 80, 110),
  ws: T(2.5, 1, 14, 1, 0, 30),
  wd: T(180, 0, 0, 90, 0, 359),
  la: T(55, 8, 14, 3, 30, 130),
  do: T(8.5, 1, 15, 0.3, 0, 20),
  water_t: T(18, 2, 16, 0.3, 0, 35),
  ph: T(7.5, 0.2, 15, 0.05, 0, 14),
  cond: T(450, 20, 15, 10, 0, 5000),
  cod: T(15, 2, 14, 2, 0, 500),
  codmn: T(4, 0.5, 14, 0.5, 0, 50),
  bod5: T(3, 0.4, 14, 0.4, 0, 50),
  nh3n: T(0.5, 0.1, 14, 0.1, 0, 20),
  tp: T(0.1, 0.02, 14, 0.02, 0, 5),
  tn: T(1.5, 0.2, 14, 0.2, 0, 30),
  ss: T(20, 4, 14, 4, 0, 500),
  fluoride: T(0.5, 0.05, 14, 0.05, 0, 5),
  petroleum: T(0.05, 0.01, 14, 0.01, 0, 5),
  water_flow: T(50, 15, 11, 5, 0, 1000),
  dust: T(3, 0.5, 14, 1, 0, 50),
  o2: T(7, 0.3, 14, 0.8, 0, 21),
  flue_t: T(52, 2, 14, 3, 0, 300),
  flue_p: T(-0.35, 0.02, 14, 0.05, -5, 5),
  flue_rh: T(11, 0.5, 14, 1, 0, 40),
  flue_dp: T(0.2, 0.02, 14, 0.03, 0, 5),
  flow_v: T(12, 1.5, 14, 1.5, 0, 40),
  gas_flow: T(150, 20, 14, 15, 0, 2000),
  duct_area: T(10, 0, 0, 0, 0, 100),
  ringelmann: T(0, 0, 0, 0, 0, 5),
  nh3: T(0.05, 0.02, 8, 0.01, 0, 5),
  ch4: T(1.3, 0.1, 5, 0.05, 0, 20),
  nmhc: T(0.3, 0.1, 8, 0.05, 0, 20),
  thc: T(1.6, 0.15, 8, 0.08, 0, 30),
  tvoc: T(0.3, 0.1, 14, 0.05, 0, 20),
  fumes: T(0.8, 0.5, 12, 0.2, 0, 10),
};

const STACK: Record<string, Typical> = {
  so2: T(20, 3, 14, 6, 0, 500),
  no2: T(3, 0.5, 14, 1, 0, 100),
  no: T(22, 3, 14, 5, 0, 500),
  nox: T(35, 5, 14, 8, 0, 800),
  co: T(15, 3, 14, 5, 0, 500),
  nh3: T(1.5, 0.3, 14, 0.5, 0, 20),
  ch4: T(2, 0.3, 14, 0.5, 0, 100),
  tvoc: T(8, 2, 14, 2, 0, 200),
  nmhc: T(5, 1, 14, 1.5, 0, 200),
  thc: T(7, 1.5, 14, 2, 0, 300),
};

// The statistics of the noise family (Leq, L10 …) sit near the instantaneous level.
for (const k of ['leq', 'l5', 'l10', 'l50', 'l90', 'l95', 'ldn', 'ld', 'ln', 'lmax', 'lmin']) AMBIENT[k] = AMBIENT.la!;

const FALLBACK = T(10, 1, 14, 1, 0, 1000);

const isStack = (kind: string) => kind.startsWith('stack.') || kind === 'voc' || kind === 'fumes';

/** What a field of a registry key usually reads on an instrument of `kind`. */
export function typicalOf(key: string, kind: string): Typical {
  return (isStack(kind) ? STACK[key] : undefined) ?? AMBIENT[key] ?? FALLBACK;
}
