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
  if (profileName) {
    const p = EMISSION_PROFILES[profileName]!;
    const o2Ref = s.o2Ref ?? p.o2Ref;
    const limits = { ...p.limits, ...s.limits };
    for (const [field, limit] of Object.entries(limits)) {
      // A converted value sent by the instrument wins; else convert with the measured O2 when the profile has a reference.
      if (usable(`${field}_zs`)) { out.push({ threshold: t(profileName, field, limit), value: r.m[`${field}_zs`]! }); continue; }
      if (!usable(field)) continue;
      let v = r.m[field]!;
      if (o2Ref !== undefined && usable('o2') && r.m.o2! < 21) v = toReferenceO2(v, r.m.o2!, o2Ref);
      out.push({ threshold: t(profileName, field, limit), value: v });
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
