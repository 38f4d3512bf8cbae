// The limit a device's chart draws for each field, where it has one: the limit of its alarms when the
// engine has reported one (what it actually judged by), else the standard its kind is judged by with
// the devices file's settings (emission profile and overrides, GB 3095 grade), else GB 3838 class III
// for surface water. Noise limits change between day and night and are left to the alarms.
import { gb3095Limit, limitSetAt } from '../standards/gb3095.ts';
import { isNight, NIGHT_LMAX_MARGIN, NOISE_LIMITS } from '../standards/noise.ts';
import { CLASS_NAMES, waterLimit } from '../standards/water.ts';
import { EMISSION_PROFILES, toReferenceO2 } from '../standards/emission.ts';
import type { Site } from './sites.ts';

export interface ChartLimit {
  value: number;
  /** Where it comes from: a rule (`ultra-low`, `gb3838-III`) or `GB 3095 1-h` / `GB 3095 24-h`. */
  source: string;
  /** A minimum (dissolved oxygen) rather than a maximum. */
  min?: boolean;
}

/** The profile a kind is judged on when the devices file names none (as ingest's emission judge). */
const DEFAULT_PROFILE: Record<string, string> = {
  'stack.cems': 'ultra-low',
  'stack.nh3slip': 'scr-slip',
  fumes: 'gb18483-fumes',
  voc: 'gb37822-voc-1h',
};
const AIR_1H = ['so2', 'no2', 'co', 'o3'];
const AIR_24H = ['pm10', 'pm25'];
const WATER = ['do', 'codmn', 'cod', 'bod5', 'nh3n', 'tp', 'fluoride'];

export function chartLimits(
  kind: string | undefined,
  site: Site | undefined,
  ts: number,
  alarms: { field: string; limit: number; rule: string }[] = [],
): Record<string, ChartLimit> {
  const out: Record<string, ChartLimit> = {};
  const profileName = site?.profile ?? DEFAULT_PROFILE[kind ?? ''];
  const profile = profileName ? EMISSION_PROFILES[profileName] : undefined;
  if (profile) {
    const ref = site?.o2Ref ?? profile.o2Ref;
    const o2 = ref === undefined ? '' : ` @ O2 ${ref} %`;
    for (const [f, value] of Object.entries({ ...profile.limits, ...site?.limits }))
      // The limit holds the converted value; interval data carries it as _avg / _zsavg.
      for (const field of [f, `${f}_zs`, `${f}_avg`, `${f}_zsavg`]) out[field] = { value, source: profileName + o2 };
  } else if (kind?.startsWith('air.')) {
    const grade = site?.grade ?? 2;
    const set = limitSetAt(ts);
    for (const f of AIR_1H) {
      const value = gb3095Limit(f, '1h', grade, set);
      if (value !== undefined) out[f] = { value, source: 'GB 3095 1-h' };
    }
    for (const f of AIR_24H) {
      const value = gb3095Limit(f, '24h', grade, set);
      if (value !== undefined) out[f] = { value, source: 'GB 3095 24-h' };
    }
  } else if (kind === 'water.surface' || kind === 'water.source') {
    const cls = (kind === 'water.source' ? Math.min(site?.targetClass ?? 3, 3) : (site?.targetClass ?? 3)) as
      1 | 2 | 3 | 4 | 5;
    for (const f of WATER) {
      const l = waterLimit(f, cls);
      if (l)
        out[f] = {
          value: l.limit,
          source: `gb3838-${CLASS_NAMES[cls - 1]}`,
          ...(l.bound === 'min' ? { min: true } : {}),
        };
    }
  } else if (kind === 'noise' && site?.noiseZone) {
    const z = NOISE_LIMITS[site.noiseZone];
    const night = isNight(ts);
    out.leq = { value: night ? z.night : z.day, source: `GB 3096 ${site.noiseZone} ${night ? 'night' : 'day'}` };
    if (night) out.lmax = { value: z.night + NIGHT_LMAX_MARGIN, source: `GB 3096 ${site.noiseZone} night Lmax` };
  }
  // Newest first: the first alarm of a field is the limit the engine judges it by now.
  const seen = new Set<string>();
  for (const a of alarms) {
    if (seen.has(a.field)) continue;
    seen.add(a.field);
    const min = a.rule.startsWith('gb3838-') && a.field === 'do';
    out[a.field] = { value: a.limit, source: a.rule, ...(min ? { min: true } : {}) };
  }
  return out;
}

/** How a live reading stands against its limit: the value judged (O2-converted where the profile says) and its share. */
export interface Standing {
  field: string;
  /** The value held against the limit: the reading, or the reading converted to the profile's O2. */
  judged: number;
  limit: ChartLimit;
  /** judged ÷ limit for a maximum; limit ÷ judged for a minimum (over 1 is past the limit either way). */
  share: number;
  converted: boolean;
}

/**
 * Each limited field of a live reading against its limit. A smokestack's measured value is converted to
 * the profile's reference O2 with the reading's own O2, as the engine judges it; a value the instrument
 * already converted (`_zs`) is taken as it is.
 */
export function standings(
  kind: string,
  site: Site | undefined,
  ts: number,
  m: Record<string, number>,
  alarms: { field: string; limit: number; rule: string }[] = [],
): Record<string, Standing> {
  const limits = chartLimits(kind, site, ts, alarms);
  const profileName = site?.profile ?? DEFAULT_PROFILE[kind];
  // As the engine judges it: the devices file's o2_ref over the profile's.
  const o2Ref = site?.o2Ref ?? (profileName ? EMISSION_PROFILES[profileName]?.o2Ref : undefined);
  const out: Record<string, Standing> = {};
  for (const [field, v] of Object.entries(m)) {
    const limit = limits[field];
    if (!limit || !Number.isFinite(v)) continue;
    const convertible = o2Ref !== undefined && !field.includes('_zs') && m.o2 !== undefined && m.o2 >= 0 && m.o2 < 21;
    const judged = convertible ? toReferenceO2(v, m.o2!, o2Ref) : v;
    const share = limit.min ? (judged > 0 ? limit.value / judged : Infinity) : judged / limit.value;
    out[field] = { field, judged, limit, share, converted: convertible };
  }
  return out;
}
