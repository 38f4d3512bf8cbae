// Where each device stands, from ingest's devices file (`--devices`, config/devices.example.yaml): district,
// site and coordinates for the device list and the map, and what sets its limits (profile, limit
// overrides, GB 3095 grade, GB 3096 zone, GB 3838 target class) for its charts and live readings. Only these keys are read, and no others are
// refused: ingest owns the file and checks the rest of it.
import { configRoot } from '../protocol/config.ts';
import { NOISE_LIMITS, type NoiseZone } from '../standards/noise.ts';

export interface Site {
  district?: string;
  site?: string;
  /** WGS 84 degrees. */
  lat?: number;
  lon?: number;
  profile?: string;
  limits?: Record<string, number>;
  grade?: 1 | 2;
  /** GB 3096 functional zone of a noise point. */
  noiseZone?: NoiseZone;
  /** GB 3838 target class of a water section (1–5). */
  targetClass?: number;
  /** Reference O2 (%) the device's emissions are converted to, overriding its profile's. */
  o2Ref?: number;
}

/** The devices file's entries by device id; a file that does not load throws a ConfigError naming the key. */
export function loadSites(file: string): Record<string, Site> {
  const root = configRoot(file);
  const devs = root.get('devices');
  const out: Record<string, Site> = {};
  if (!devs.present) return out;
  for (const id of Object.keys(devs.value as object)) {
    const d = devs.get(id);
    const s: Site = {};
    const district = d.get('district').optStr();
    const site = d.get('site').optStr();
    const lat = d.get('lat').optNum({ min: -90, max: 90 });
    const lon = d.get('lon').optNum({ min: -180, max: 180 });
    if (district) s.district = district;
    if (site) s.site = site;
    // A station on the map needs both coordinates.
    if ((lat === undefined) !== (lon === undefined)) d.fail('lat and lon: give both or neither');
    if (lat !== undefined && lon !== undefined) Object.assign(s, { lat, lon });
    const profile = d.get('profile').optStr();
    if (profile) s.profile = profile;
    const limits = d.get('limits');
    if (limits.present)
      s.limits = Object.fromEntries(Object.keys(limits.value as object).map((k) => [k, limits.get(k).num({ min: 0 })]));
    const grade = d.get('grade').optNum({ min: 1, max: 2, integer: true });
    if (grade !== undefined) s.grade = grade as 1 | 2;
    const zone = d.get('noise_zone').optStr();
    if (zone && Object.hasOwn(NOISE_LIMITS, zone)) s.noiseZone = zone as NoiseZone;
    const target = d.get('target_class').optNum({ min: 1, max: 5, integer: true });
    if (target !== undefined) s.targetClass = target;
    const o2Ref = d.get('o2_ref').optNum({ min: 0, max: 20.9 });
    if (o2Ref !== undefined) s.o2Ref = o2Ref;
    out[id] = s;
  }
  return out;
}
