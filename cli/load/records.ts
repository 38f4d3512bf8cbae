// What each device class reports: registry field names (protocol/pollutants.ts) with typical values, so the
// records pass ingest's validation and land in the measurement of their kind.
import type { SampleRecord } from '../../protocol/envelope.ts';
import type { DeviceKind } from '../../protocol/kinds.ts';
import { hash01 } from '../../simulators/random.ts';
import { pass, vehicle } from '../../simulators/models/rsd.ts';
import { typicalOf } from '../../simulators/models/typical.ts';

/** The fields each real-time class carries (rsd passes come from the SIM-RSD model). */
export const FIELDS: Record<Exclude<DeviceKind, 'rsd'>, readonly string[]> = {
  'air.station': ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3', 'temp', 'rh', 'pressure', 'ws', 'wd'],
  'air.micro': ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3', 'temp', 'rh'],
  'stack.cems': ['so2', 'so2_zs', 'nox', 'nox_zs', 'dust', 'dust_zs', 'o2', 'flue_t', 'flue_p', 'flow_v', 'gas_flow'],
  'stack.nh3slip': ['nh3', 'o2', 'flue_t'],
  fumes: ['fumes', 'nmhc', 'flue_t'],
  vapor: ['tank_p', 'vapor_conc'],
  voc: ['tvoc', 'nmhc', 'thc', 'ch4'],
  'water.surface': ['ph', 'do', 'water_t', 'cond', 'codmn', 'nh3n', 'tp', 'tn'],
  'water.source': ['ph', 'do', 'water_t', 'cond', 'nh3n'],
  'water.outfall': ['water_flow', 'ph', 'cod', 'nh3n', 'tp', 'tn'],
  noise: ['la', 'leq', 'l10', 'l50', 'l90'],
};

// Vapour-recovery gauges wander around a tight system's pressure; typical.ts has no level for them.
const OWN: Record<string, [base: number, noise: number]> = { tank_p: [80, 120], vapor_conc: [40, 20] };

/** Record `k` of device `dev` (seed `seed`) at sample time `ts`. */
export function recordOf(dev: string, kind: DeviceKind, seed: number, k: number, ts: number): SampleRecord {
  if (kind === 'rsd')
    return pass({ dev, seed }, ts, vehicle(seed, Math.floor(hash01(seed, k, 2) * 2000)), hash01(seed, k, 3));
  const m: Record<string, number> = {};
  let i = 0;
  for (const name of FIELDS[kind]) {
    const zs = name.endsWith('_zs');
    const key = zs ? name.slice(0, -3) : name;
    const u = hash01(seed, k, i++) * 2 - 1;
    const own = OWN[key];
    let v: number;
    if (own) v = own[0] + own[1] * u;
    else {
      const t = typicalOf(key, kind);
      v = Math.min(t.max, Math.max(t.min, t.base + t.noise * u));
    }
    // A converted (折算) value is the raw one referred to the reference O2: a little higher.
    m[name] = Math.round((zs ? v * 1.15 : v) * 100) / 100;
  }
  return { dev, kind, ts, m };
}
