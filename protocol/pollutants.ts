// The pollutant/parameter registry: envelope field keys, their fixed units and HJ 212 codes
// (HJ 212-2017 Appendix B; docs/protocol.md §4). Drivers convert to these units on the way in.

export interface Pollutant {
  key: string;
  name: string;
  unit: string;
  /** HJ 212-2017 factor code; null where the standard defines none (set one per device). */
  hj212: string | null;
  /** HJ/T 212-2005 code, where one exists. */
  hj212_2005?: string;
  /**
   * Plausible values, inclusive, in the key's unit: what a working instrument can report at all, not a
   * legal limit. A value outside is no reading (a unit mix-up, an overflowed register, 1e308) and is
   * refused as that field's error. Bounds are physical (pH 0–14, %, O2 ≤ 100 %, a Ringelmann grade ≤ 5)
   * or a generous multiple of the worst ever reported: PM2.5 5000 and PM10 20000 µg/m³ cover sandstorm
   * hours in Inner Mongolia (PM10 above 9000 µg/m³); temperature −60…70 °C the records of China
   * (−52.3 °C Mohe) and of the world's hottest surface air; gas concentrations, which stacks (mg/m³)
   * share with ambient air (µg/m³), the raw flue gas before treatment; noise 0–200 dB.
   */
  range: readonly [number, number];
}

const P = (
  key: string,
  name: string,
  unit: string,
  hj212: string | null,
  range: readonly [number, number],
  hj212_2005?: string,
): Pollutant =>
  hj212_2005 === undefined ? { key, name, unit, hj212, range } : { key, name, unit, hj212, range, hj212_2005 };

// Ambient concentrations use the units of GB 3095 / HJ 633 (µg/m³, CO mg/m³), not the ng/m³
// printed as HJ 212's default for PM: the standard's own note says the unit is set per device.
export const POLLUTANTS: readonly Pollutant[] = [
  P('pm25', 'PM2.5', 'µg/m³', 'a34004', [0, 5000]),
  P('pm10', 'PM10', 'µg/m³', 'a34002', [0, 20000]),
  P('pm1', 'PM1.0', 'µg/m³', 'a34005', [0, 5000]),
  P('tsp', 'TSP', 'µg/m³', 'a34001', [0, 50000]),
  P('so2', 'SO2', 'µg/m³', 'a21026', [0, 1e5], '02'),
  P('nox', 'NOx (as NO2)', 'mg/m³', 'a21002', [0, 1e4], '03'),
  P('no2', 'NO2', 'µg/m³', 'a21004', [0, 1e5]),
  P('no', 'NO', 'mg/m³', 'a21003', [0, 1e4]),
  P('co', 'CO', 'mg/m³', 'a21005', [0, 1e4], '04'),
  P('o3', 'O3', 'µg/m³', 'a05024', [0, 2000]),
  P('dust', 'flue dust', 'mg/m³', 'a34013', [0, 1e5], '01'),
  P('o2', 'O2', '%', 'a19001', [0, 100], 'S01'),
  P('flow_v', 'flue-gas velocity', 'm/s', 'a01011', [0, 100], 'S02'),
  P('flue_t', 'flue-gas temperature', '°C', 'a01012', [-60, 1500], 'S03'),
  P('flue_p', 'flue-gas pressure', 'kPa', 'a01013', [-100, 100], 'S08'),
  P('flue_rh', 'flue-gas humidity', '%', 'a01014', [0, 100], 'S05'),
  P('flue_dp', 'flue-gas dynamic pressure', 'kPa', 'a01017', [-10, 100], 'S04'),
  P('duct_area', 'duct cross-section', 'm²', 'a01016', [0, 1000], 'S07'),
  P('gas_flow', 'waste-gas flow', 'm³/s', 'a00000', [0, 1e5], 'B02'),
  P('temp', 'air temperature', '°C', 'a01001', [-60, 70]),
  P('rh', 'relative humidity', '%', 'a01002', [0, 100]),
  P('pressure', 'air pressure', 'kPa', 'a01006', [30, 110]),
  P('ws', 'wind speed', 'm/s', 'a01007', [0, 100]),
  P('wd', 'wind direction', '°', 'a01008', [0, 360]),
  P('ringelmann', 'Ringelmann blackness', '1', 'a01010', [0, 5], '37'),
  P('nh3', 'NH3', 'mg/m³', 'a21001', [0, 1e4], '10'),
  P('nmhc', 'non-methane hydrocarbons', 'mg/m³', 'a24088', [0, 1e5]),
  P('thc', 'total hydrocarbons', 'mg/m³', 'a24087', [0, 1e5], '25'),
  P('ch4', 'methane', 'mg/m³', 'a05002', [0, 1e6]),
  P('tvoc', 'TVOC', 'mg/m³', null, [0, 1e5]),
  P('fumes', 'catering fumes', 'mg/m³', null, [0, 1000]),
  // A catering monitor's switch states (GB 18483 wants the purifier running while the kitchen cooks).
  P('fan', 'exhaust fan running (1 on, 0 off)', '1', null, [0, 1]),
  P('purifier', 'fume purifier running (1 on, 0 off)', '1', null, [0, 1]),
  // Vapour recovery (GB 20952-2020): no HJ 212 codes exist; platforms map their own (docs/standards/hj212.md §4).
  P('al', 'A/L ratio (vapour / fuel volume)', '1', null, [0, 10]),
  P('fuel_l', 'fuel volume of a fuelling', 'L', null, [0, 10000]),
  P('tank_p', 'tank gauge pressure', 'Pa', null, [-10000, 10000]),
  P('vapor_conc', 'vapour concentration', 'µmol/mol', null, [0, 1e6]),
  // Remote sensing of vehicle exhaust (HJ 845, GB 18285): plume ratios in the units the sets report;
  // no HJ 212 codes exist (docs/standards/hj212.md §4). Ringelmann blackness is the registry's `ringelmann`.
  P('no_ppm', 'NO in the exhaust plume', 'ppm', null, [0, 1e5]),
  P('hc_ppm', 'HC in the exhaust plume', 'ppm', null, [0, 1e5]),
  P('co_pct', 'CO in the exhaust plume', '%', null, [0, 100]),
  P('co2_pct', 'CO2 in the exhaust plume', '%', null, [0, 100]),
  P('opacity', 'smoke opacity', '%', null, [0, 100]),
  P('speed', 'vehicle speed', 'km/h', null, [0, 300]),
  P('accel', 'vehicle acceleration', 'm/s²', null, [-20, 20]),
  P('water_flow', 'wastewater flow', 'L/s', 'w00000', [0, 1e6], 'B01'),
  P('ph', 'pH', '1', 'w01001', [0, 14], '001'),
  P('cod', 'COD', 'mg/L', 'w01018', [0, 1e5], '011'),
  P('codmn', 'permanganate index', 'mg/L', 'w01019', [0, 1e4]),
  P('bod5', 'BOD5', 'mg/L', 'w01017', [0, 1e5], '010'),
  P('nh3n', 'ammonia nitrogen', 'mg/L', 'w21003', [0, 1e4], '060'),
  P('tp', 'total phosphorus', 'mg/L', 'w21011', [0, 1e4], '101'),
  P('tn', 'total nitrogen', 'mg/L', 'w21001', [0, 1e4], '065'),
  P('do', 'dissolved oxygen', 'mg/L', 'w01009', [0, 50]),
  P('water_t', 'water temperature', '°C', 'w01010', [-5, 100]),
  P('cond', 'conductivity', 'µS/cm', 'w01014', [0, 2e5]),
  P('ss', 'suspended solids', 'mg/L', 'w01012', [0, 1e6], '003'),
  P('fluoride', 'fluoride', 'mg/L', 'w21017', [0, 1e4], '072'),
  P('petroleum', 'petroleum', 'mg/L', 'w22001', [0, 1e5], '080'),
  P('la', 'A-weighted sound level', 'dB', 'LA', [0, 200]),
  P('leq', 'equivalent sound level', 'dB', 'Leq', [0, 200]),
  P('l5', 'L5', 'dB', 'L5', [0, 200]),
  P('l10', 'L10', 'dB', 'L10', [0, 200]),
  P('l50', 'L50', 'dB', 'L50', [0, 200]),
  P('l90', 'L90', 'dB', 'L90', [0, 200]),
  P('l95', 'L95', 'dB', 'L95', [0, 200]),
  P('ldn', 'day-night level', 'dB', 'Ldn', [0, 200]),
  P('ld', 'day level', 'dB', 'Ld', [0, 200]),
  P('ln', 'night level', 'dB', 'Ln', [0, 200]),
  P('lmax', 'maximum level', 'dB', 'LMx', [0, 200]),
  P('lmin', 'minimum level', 'dB', 'LMn', [0, 200]),
];

const BY_KEY = new Map(POLLUTANTS.map((p) => [p.key, p]));
const BY_CODE = new Map<string, Pollutant>();
for (const p of POLLUTANTS) {
  if (p.hj212) BY_CODE.set(p.hj212, p);
  if (p.hj212_2005) BY_CODE.set(p.hj212_2005, p);
}

export function pollutant(key: string): Pollutant | undefined {
  return BY_KEY.get(key);
}
export function pollutantByCode(code: string): Pollutant | undefined {
  return BY_CODE.get(code);
}

/** Statistic suffixes of a field name (HJ 212 -ZsRtd, -Min, -Max, -Avg, -Cou, -ZsMin, -ZsAvg, -ZsMax). */
export const FIELD_SUFFIXES = ['zs', 'min', 'max', 'avg', 'cou', 'zsmin', 'zsavg', 'zsmax'] as const;

/** Splits `so2_zsavg` into the registry key and suffix; null when the key is not in the registry. */
export function parseFieldName(name: string): { key: string; suffix: string | null } | null {
  if (BY_KEY.has(name)) return { key: name, suffix: null };
  const i = name.lastIndexOf('_');
  if (i <= 0) return null;
  const key = name.slice(0, i);
  const suffix = name.slice(i + 1);
  if (!BY_KEY.has(key) || !(FIELD_SUFFIXES as readonly string[]).includes(suffix)) return null;
  return { key, suffix };
}

/**
 * Why `value` is not a plausible reading of field `name`, or null when it is. Cumulative values (`_cou`,
 * a volume or mass over the interval) scale with the interval and the duct, so only their sign is checked.
 */
export function implausible(name: string, value: number): string | null {
  const b = BOUNDS.get(name);
  if (!b || (value >= b[0] && value <= b[1])) return null;
  return `${value} is outside the plausible range ${b[0]}…${b[1] === Number.MAX_VALUE ? '' : b[1]} ${b[2]}`;
}

/** The plausible bounds and unit of a field name (a registry key, with or without a suffix), or undefined for no field. */
export function fieldBounds(name: string): readonly [lo: number, hi: number, unit: string] | undefined {
  return BOUNDS.get(name);
}

/**
 * An analyser near zero reports small negative values (zero drift, within about 1 % of its span): those
 * are readings and are kept as sent, so a range that starts at 0 reaches 1 % of its top below it.
 */
function withZeroDrift([lo, hi]: readonly [number, number]): readonly [number, number] {
  return lo === 0 ? [-hi * 0.01, hi] : [lo, hi];
}

// Every field name, worked out once: decoding a record is ingest's hot path (one lookup a field).
const BOUNDS = new Map<string, readonly [number, number, string]>();
for (const p of POLLUTANTS) {
  const [lo, hi] = withZeroDrift(p.range);
  BOUNDS.set(p.key, [lo, hi, p.unit]);
  for (const s of FIELD_SUFFIXES)
    BOUNDS.set(`${p.key}_${s}`, s === 'cou' ? [0, Number.MAX_VALUE, p.unit] : [lo, hi, p.unit]);
}
