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
}

const P = (key: string, name: string, unit: string, hj212: string | null, hj212_2005?: string): Pollutant =>
  hj212_2005 === undefined ? { key, name, unit, hj212 } : { key, name, unit, hj212, hj212_2005 };

// Ambient concentrations use the units of GB 3095 / HJ 633 (µg/m³, CO mg/m³), not the ng/m³
// printed as HJ 212's default for PM: the standard's own note says the unit is set per device.
export const POLLUTANTS: readonly Pollutant[] = [
  P('pm25', 'PM2.5', 'µg/m³', 'a34004'),
  P('pm10', 'PM10', 'µg/m³', 'a34002'),
  P('pm1', 'PM1.0', 'µg/m³', 'a34005'),
  P('tsp', 'TSP', 'µg/m³', 'a34001'),
  P('so2', 'SO2', 'µg/m³', 'a21026', '02'),
  P('nox', 'NOx (as NO2)', 'mg/m³', 'a21002', '03'),
  P('no2', 'NO2', 'µg/m³', 'a21004'),
  P('no', 'NO', 'mg/m³', 'a21003'),
  P('co', 'CO', 'mg/m³', 'a21005', '04'),
  P('o3', 'O3', 'µg/m³', 'a05024'),
  P('dust', 'flue dust', 'mg/m³', 'a34013', '01'),
  P('o2', 'O2', '%', 'a19001', 'S01'),
  P('flow_v', 'flue-gas velocity', 'm/s', 'a01011', 'S02'),
  P('flue_t', 'flue-gas temperature', '°C', 'a01012', 'S03'),
  P('flue_p', 'flue-gas pressure', 'kPa', 'a01013', 'S08'),
  P('flue_rh', 'flue-gas humidity', '%', 'a01014', 'S05'),
  P('flue_dp', 'flue-gas dynamic pressure', 'kPa', 'a01017', 'S04'),
  P('duct_area', 'duct cross-section', 'm²', 'a01016', 'S07'),
  P('gas_flow', 'waste-gas flow', 'm³/s', 'a00000', 'B02'),
  P('temp', 'air temperature', '°C', 'a01001'),
  P('rh', 'relative humidity', '%', 'a01002'),
  P('pressure', 'air pressure', 'kPa', 'a01006'),
  P('ws', 'wind speed', 'm/s', 'a01007'),
  P('wd', 'wind direction', '°', 'a01008'),
  P('ringelmann', 'Ringelmann blackness', '1', 'a01010', '37'),
  P('nh3', 'NH3', 'mg/m³', 'a21001', '10'),
  P('nmhc', 'non-methane hydrocarbons', 'mg/m³', 'a24088'),
  P('thc', 'total hydrocarbons', 'mg/m³', 'a24087', '25'),
  P('ch4', 'methane', 'mg/m³', 'a05002'),
  P('tvoc', 'TVOC', 'mg/m³', null),
  P('fumes', 'catering fumes', 'mg/m³', null),
  // Vapour recovery (GB 20952-2020): no HJ 212 codes exist; platforms map their own (docs/standards/hj212.md §4).
  P('al', 'A/L ratio (vapour / fuel volume)', '1', null),
  P('fuel_l', 'fuel volume of a fuelling', 'L', null),
  P('tank_p', 'tank gauge pressure', 'Pa', null),
  P('vapor_conc', 'vapour concentration', 'µmol/mol', null),
  // Remote sensing of vehicle exhaust (HJ 845, GB 18285): plume ratios in the units the sets report;
  // no HJ 212 codes exist (docs/standards/hj212.md §4). Ringelmann blackness is the registry's `ringelmann`.
  P('no_ppm', 'NO in the exhaust plume', 'ppm', null),
  P('hc_ppm', 'HC in the exhaust plume', 'ppm', null),
  P('co_pct', 'CO in the exhaust plume', '%', null),
  P('co2_pct', 'CO2 in the exhaust plume', '%', null),
  P('opacity', 'smoke opacity', '%', null),
  P('speed', 'vehicle speed', 'km/h', null),
  P('accel', 'vehicle acceleration', 'm/s²', null),
  P('water_flow', 'wastewater flow', 'L/s', 'w00000', 'B01'),
  P('ph', 'pH', '1', 'w01001', '001'),
  P('cod', 'COD', 'mg/L', 'w01018', '011'),
  P('codmn', 'permanganate index', 'mg/L', 'w01019'),
  P('bod5', 'BOD5', 'mg/L', 'w01017', '010'),
  P('nh3n', 'ammonia nitrogen', 'mg/L', 'w21003', '060'),
  P('tp', 'total phosphorus', 'mg/L', 'w21011', '101'),
  P('tn', 'total nitrogen', 'mg/L', 'w21001', '065'),
  P('do', 'dissolved oxygen', 'mg/L', 'w01009'),
  P('water_t', 'water temperature', '°C', 'w01010'),
  P('cond', 'conductivity', 'µS/cm', 'w01014'),
  P('ss', 'suspended solids', 'mg/L', 'w01012', '003'),
  P('fluoride', 'fluoride', 'mg/L', 'w21017', '072'),
  P('petroleum', 'petroleum', 'mg/L', 'w22001', '080'),
  P('la', 'A-weighted sound level', 'dB', 'LA'),
  P('leq', 'equivalent sound level', 'dB', 'Leq'),
  P('l5', 'L5', 'dB', 'L5'),
  P('l10', 'L10', 'dB', 'L10'),
  P('l50', 'L50', 'dB', 'L50'),
  P('l90', 'L90', 'dB', 'L90'),
  P('l95', 'L95', 'dB', 'L95'),
  P('ldn', 'day-night level', 'dB', 'Ldn'),
  P('ld', 'day level', 'dB', 'Ld'),
  P('ln', 'night level', 'dB', 'Ln'),
  P('lmax', 'maximum level', 'dB', 'LMx'),
  P('lmin', 'minimum level', 'dB', 'LMn'),
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
