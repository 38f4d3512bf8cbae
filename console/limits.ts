// The limit a device's chart draws for each field, where it has one: the limit of its alarms when the
// engine has reported one (what it actually judged by), else the standard its kind is judged by with
// the devices file's settings (emission profile and overrides, GB 3095 grade), else GB 3838 class III
// for surface water. Noise limits change between day and night and are left to the alarms.
import { EMISSION_PROFILES } from '../standards/emission.ts';
import { gb3095Limit, limitSetAt } from '../standards/gb3095.ts';
import { waterLimit } from '../standards/water.ts';
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
    const o2 = profile.o2Ref === undefined ? '' : ` @ O2 ${profile.o2Ref} %`;
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
  } else if (kind === 'water.surface') {
    for (const f of WATER) {
      const l = waterLimit(f, 3);
      if (l) out[f] = { value: l.limit, source: 'gb3838-III', ...(l.bound === 'min' ? { min: true } : {}) };
    }
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
