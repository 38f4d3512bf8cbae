// Which limits apply to a real-time record, by device kind, with per-device overrides
// (standards/ holds the numbers). Air devices are judged on hourly means instead (air.ts).
import type { SampleRecord } from '../../protocol/envelope.ts';
import { EMISSION_PROFILES, toReferenceO2 } from '../../standards/emission.ts';
import { checkNoise } from '../../standards/noise.ts';
import { CLASS_NAMES, waterLimit } from '../../standards/water.ts';
import type { Threshold } from './alarms.ts';
import type { DeviceSettings } from './devices.ts';

export interface Timing { minDurationMs: number; clearDurationMs: number; hysteresis: number }
export const DEFAULT_TIMING: Timing = { minDurationMs: 60_000, clearDurationMs: 60_000, hysteresis: 0.05 };

const DEFAULT_PROFILE: Record<string, string> = {
  'stack.cems': 'ultra-low', 'stack.nh3slip': 'scr-slip', fumes: 'gb18483-fumes', voc: 'gb37822-voc-1h',
};

/** Flags that make a value unusable for judging a limit (HJ 212: stopped, maintenance, fault, calibration, comms). */
const UNUSABLE = new Set(['F', 'M', 'D', 'C', 'B']);

export interface Check { threshold: Threshold; value: number }

/** The checks one real-time record triggers: each a threshold and the value to hold against it. */
export function checksFor(r: SampleRecord, s: DeviceSettings = {}, timing: Timing = DEFAULT_TIMING): Check[] {
  const usable = (f: string) => r.m[f] !== undefined && !UNUSABLE.has(r.f?.[f] ?? 'N');
  const t = (rule: string, field: string, limit: number, bound: 'max' | 'min' = 'max'): Threshold => ({ rule, field, limit, bound, ...timing });
  const out: Check[] = [];
  const profileName = s.profile ?? DEFAULT_PROFILE[r.kind];
  // Interval data (HJ 212 minute/hour/day values) is judged on its means, as a rule of its own, and an
  // interval mean past the limit is an exceedance without waiting.
  const interval = r.agg !== undefined && r.agg !== 'rt';
  const rule = (name: string) => (interval ? `${name}/${r.agg}` : name);
  const tt = (name: string, field: string, limit: number, bound: 'max' | 'min' = 'max'): Threshold =>
    interval ? { ...t(rule(name), field, limit, bound), minDurationMs: 0, clearDurationMs: 0 } : t(name, field, limit, bound);
  if (profileName) {
    const p = EMISSION_PROFILES[profileName]!;
    const o2Ref = s.o2Ref ?? p.o2Ref;
    const limits = { ...p.limits, ...s.limits };
    const o2 = usable('o2') ? r.m.o2 : usable('o2_avg') ? r.m.o2_avg : undefined;
    for (const [field, limit] of Object.entries(limits)) {
      // A converted value sent by the instrument wins (ZsRtd, or ZsAvg for interval data); else the
      // measured value is converted to the reference O2 when the profile has one.
      const zs = [`${field}_zs`, `${field}_zsavg`].find(usable);
      if (zs) { out.push({ threshold: tt(profileName, field, limit), value: r.m[zs]! }); continue; }
      const raw = [field, `${field}_avg`].find(usable);
      if (!raw) continue;
      let v = r.m[raw]!;
      if (o2Ref !== undefined && o2 !== undefined && o2 < 21) v = toReferenceO2(v, o2, o2Ref);
      out.push({ threshold: tt(profileName, field, limit), value: v });
    }
  }
  if (r.kind.startsWith('water.')) {
    const target = s.targetClass ?? 3;
    for (const field of ['do', 'codmn', 'cod', 'bod5', 'nh3n', 'tp', 'tn', 'fluoride']) {
      const l = waterLimit(field, target, s.waterbody ?? 'river');
      if (l && usable(field)) out.push({ threshold: t(`gb3838-${CLASS_NAMES[target - 1]}`, field, s.limits?.[field] ?? l.limit, l.bound), value: r.m[field]! });
    }
  }
  if (r.kind === 'noise') {
    const zone = s.noiseZone ?? '2';
    const leq = usable('leq') ? r.m.leq : usable('la') ? r.m.la : undefined;
    const c = checkNoise(zone, r.ts, leq, usable('lmax') ? r.m.lmax : undefined);
    if (leq !== undefined) out.push({ threshold: t(`gb3096-${zone}`, 'leq', c.limit), value: leq });
    if (c.lmaxLimit !== undefined && usable('lmax')) out.push({ threshold: t(`gb3096-${zone}-night-lmax`, 'lmax', c.lmaxLimit), value: r.m.lmax! });
  }
  return out;
}
