// The ingest device file: site tags and per-device rule settings, all optional.
//
//   devices:
//     cems-0001: { district: 赛罕区, site: 金桥热电 1号机组, profile: ultra-low, limits: { so2: 30 }, o2_ref: 6 }
//     aq-0007:   { district: 新城区, grade: 2 }
//     ws-0003:   { target_class: 3, waterbody: lake }
//     ns-0012:   { noise_zone: 4a }
//   rsd:                                  # remote sensing: limits per fuel type, repeat offenders
//     limits: { diesel: { opacity: 30, ringelmann: 1, no_ppm: 1500 }, gasoline: { co_pct: …, hc_ppm: …, no_ppm: … } }
//     repeat: { count: 2, window_days: 180 }
import { configRoot, type Node } from '../../protocol/config.ts';
import { EMISSION_PROFILES } from '../../standards/emission.ts';
import { RSD_DEFAULTS, RSD_FIELDS, RSD_FUELS, type RsdLimits, type RsdSettings } from '../../standards/rsd.ts';
import type { NoiseZone } from '../../standards/noise.ts';
import type { Waterbody } from '../../standards/water.ts';

export interface DeviceSettings {
  district?: string;
  site?: string;
  /** Emission profile (standards/emission.ts) for stack, fumes, ammonia-slip and VOC devices. */
  profile?: string;
  /** Limit overrides by field, in the field's unit. */
  limits?: Record<string, number>;
  o2Ref?: number;
  /** GB 3095 grade: 1 in class-1 zones, 2 elsewhere (default). */
  grade?: 1 | 2;
  targetClass?: 1 | 2 | 3 | 4 | 5;
  waterbody?: Waterbody;
  noiseZone?: NoiseZone;
}

export interface DeviceFile {
  devices: Map<string, DeviceSettings>;
  rsd: RsdSettings;
}

export function loadDeviceFile(file: string): DeviceFile {
  const root = configRoot(file);
  root.only('devices', 'rsd');
  return { devices: parseDevices(root), rsd: parseRsd(root.get('rsd')) };
}

/**
 * The remote-sensing section. Fuel types given under `limits` replace the shipped table for that fuel
 * (so a fuel can be judged on fewer readings); fuels not given keep the defaults.
 */
export function parseRsd(n: Node): RsdSettings {
  if (!n.present) return RSD_DEFAULTS;
  n.only('limits', 'repeat');
  const limits: RsdLimits = { ...RSD_DEFAULTS.limits };
  const l = n.get('limits');
  if (l.present) {
    l.only(...RSD_FUELS);
    for (const fuel of RSD_FUELS) {
      const f = l.get(fuel);
      if (!f.present) continue;
      f.only(...RSD_FIELDS);
      limits[fuel] = Object.fromEntries(
        RSD_FIELDS.filter((k) => f.get(k).present).map((k) => [k, f.get(k).num({ min: 0 })]),
      );
    }
  }
  const r = n.get('repeat');
  if (r.present) r.only('count', 'window_days');
  return {
    limits,
    count: r.present ? r.get('count').num({ def: RSD_DEFAULTS.count, min: 1, integer: true }) : RSD_DEFAULTS.count,
    windowDays: r.present
      ? r.get('window_days').num({ def: RSD_DEFAULTS.windowDays, min: 1 })
      : RSD_DEFAULTS.windowDays,
  };
}

/** Where a device stands: tags of its points (district, site) and its place on the console's map (lat, lon). */
const SITE_KEYS = ['district', 'site', 'lat', 'lon'];

export function parseDevices(root: Node): Map<string, DeviceSettings> {
  const out = new Map<string, DeviceSettings>();
  const devs = root.get('devices');
  if (!devs.present) return out;
  for (const id of Object.keys(devs.value as object)) {
    const d = devs
      .get(id)
      .only(...SITE_KEYS, 'profile', 'limits', 'o2_ref', 'grade', 'target_class', 'waterbody', 'noise_zone');
    // lat/lon place the device on the operator console's map; ingest only checks them.
    d.get('lat').optNum({ min: -90, max: 90 });
    d.get('lon').optNum({ min: -180, max: 180 });
    const s: DeviceSettings = {};
    const str = (k: string) => d.get(k).optStr();
    if (str('district')) s.district = str('district')!;
    if (str('site')) s.site = str('site')!;
    if (d.get('profile').present) s.profile = d.get('profile').oneOf(Object.keys(EMISSION_PROFILES));
    if (d.get('limits').present) {
      s.limits = {};
      for (const k of Object.keys(d.get('limits').value as object))
        s.limits[k] = d.get('limits').get(k).num({ min: 0 });
    }
    const o2 = d.get('o2_ref').optNum({ min: 0, max: 20.9 });
    if (o2 !== undefined) s.o2Ref = o2;
    if (d.get('grade').present) s.grade = d.get('grade').num({ min: 1, max: 2, integer: true }) as 1 | 2;
    if (d.get('target_class').present)
      s.targetClass = d.get('target_class').num({ min: 1, max: 5, integer: true }) as 1 | 2 | 3 | 4 | 5;
    if (d.get('waterbody').present) s.waterbody = d.get('waterbody').oneOf(['river', 'lake'] as const);
    if (d.get('noise_zone').present) s.noiseZone = d.get('noise_zone').oneOf(['0', '1', '2', '3', '4a', '4b'] as const);
    out.set(id, s);
  }
  return out;
}
