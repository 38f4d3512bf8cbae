// Emission limits for exceedance flagging (docs/standards/limits.md §2–4), with the
// reference-oxygen conversion. Limits are data: a device may override any of them in config.
// Exceedance: converted value > limit.

/** C_zs = C × (21 − O2_ref) / (21 − O2_measured)  (HJ 212-2017 Appendix D eq. 28). */
export function toReferenceO2(c: number, o2Measured: number, o2Ref: number): number {
  if (!(o2Measured >= 0 && o2Measured < 21))
    throw new RangeError(`measured O2 ${o2Measured} % is outside 0 … <21: the value cannot be converted`);
  return (c * (21 - o2Ref)) / (21 - o2Measured);
}

export interface EmissionProfile {
  name: string;
  /** Reference O2 in %, or undefined when the standard converts nothing. */
  o2Ref?: number;
  /** Limits in mg/m³ by field (registry key), on each reading. */
  limits: Record<string, number>;
  /**
   * Limits on hourly means, for standards that limit a 1-hour mean (GB 37822 Table A.1, GB 16297's
   * maximum allowable concentration): judged on the mean of each clock hour's readings, and on hourly
   * and daily interval data.
   */
  hourly?: Record<string, number>;
  source: string;
}

type Fuel = 'coal' | 'oil' | 'gas';
const boiler = (table: string, fuel: Fuel, dust: number, so2: number, nox: number): EmissionProfile => ({
  name: `gb13271-${table}-${fuel}`,
  o2Ref: fuel === 'coal' ? 9 : 3.5,
  limits: { dust, so2, nox, ringelmann: 1 },
  source: `GB 13271-2014 ${table === 'in-use' ? 'Table 1' : table === 'new' ? 'Table 2' : 'Table 3'}, ${fuel}`,
});

export const EMISSION_PROFILES: Record<string, EmissionProfile> = Object.fromEntries(
  [
    {
      name: 'ultra-low',
      o2Ref: 6,
      limits: { dust: 10, so2: 35, nox: 50 },
      source: 'coal-fired power ultra-low emission (10/35/50 mg/m³ at 6 % O2)',
    },
    boiler('in-use', 'coal', 80, 400, 400),
    boiler('in-use', 'oil', 60, 300, 400),
    boiler('in-use', 'gas', 30, 100, 400),
    boiler('new', 'coal', 50, 300, 300),
    boiler('new', 'oil', 30, 200, 250),
    boiler('new', 'gas', 20, 50, 200),
    boiler('special', 'coal', 30, 200, 200),
    boiler('special', 'oil', 30, 100, 200),
    boiler('special', 'gas', 20, 50, 150),
    {
      name: 'gb4915-kiln',
      o2Ref: 10,
      limits: { nh3: 10 },
      source: 'GB 4915-2013 Table 1, cement kiln NH3 (ammonia/urea de-NOx)',
    },
    { name: 'gb4915-kiln-special', o2Ref: 10, limits: { nh3: 8 }, source: 'GB 4915-2013 Table 2 special limit' },
    // SCR/SNCR slip design values (HJ 562/563-2010) are widely cited but unverified; operators set their own.
    { name: 'scr-slip', limits: { nh3: 2.5 }, source: 'HJ 562-2010 SCR design slip (unverified, configurable)' },
    { name: 'sncr-slip', limits: { nh3: 8 }, source: 'HJ 563-2010 SNCR design slip (unverified, configurable)' },
    {
      name: 'gb18483-fumes',
      limits: { fumes: 2.0 },
      source: 'GB 18483-2001 catering fumes 2.0 mg/m³ (applied to online means by convention)',
    },
    // GB 37822-2019 Table A.1 (in-plant, at the monitoring point): a 1-h mean and any single value.
    {
      name: 'gb37822-voc-1h',
      limits: { nmhc: 30 },
      hourly: { nmhc: 10 },
      source: 'GB 37822-2019 Table A.1 in-plant NMHC: 1-h mean 10, single value 30',
    },
    {
      name: 'gb37822-voc-special',
      limits: { nmhc: 20 },
      hourly: { nmhc: 6 },
      source: 'GB 37822-2019 Table A.1 special limits: 1-h mean 6, single value 20',
    },
    // GB 16297-1996's maximum allowable emission concentration is one no 1-h mean may exceed (§3).
    {
      name: 'gb16297-stack-nmhc',
      limits: {},
      hourly: { nmhc: 120 },
      source: 'GB 16297-1996 Table 2 item 33 stack NMHC, 1-h mean',
    },
  ].map((p) => [p.name, p]),
);

/** Ppm → mg/m³ at standard state (22.4 L/mol, 273 K), as CEMS conversions use (HJ 212 eq. 20). */
export function ppmToMgM3(ppm: number, molarMass: number): number {
  return (ppm * molarMass) / 22.4;
}
