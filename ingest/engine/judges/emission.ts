// Stacks (CEMS), ammonia slip, catering fumes and VOC: each reading against its
// emission profile (standards/emission.ts), converted to the profile's reference O2 unless the
// instrument sent the converted value. Interval data (HJ 212 minute/hour/day means) is a rule of its
// own (`profile/agg`), and an interval mean past its limit is an exceedance without waiting.
import { EMISSION_PROFILES, toReferenceO2 } from '../../../standards/emission.ts';
import { limit, usable, type Judge, type JudgeCall } from './judge.ts';

/** The profile a kind is judged on when the devices file names none. */
const DEFAULT_PROFILE: Record<string, string> = {
  'stack.cems': 'ultra-low',
  'stack.nh3slip': 'scr-slip',
  fumes: 'gb18483-fumes',
  voc: 'gb37822-voc-1h',
};

export class EmissionJudge implements Judge {
  judge(c: JudgeCall): void {
    const { r, s } = c;
    const name = s.profile ?? DEFAULT_PROFILE[r.kind]!;
    const p = EMISSION_PROFILES[name]!;
    const interval = r.agg !== undefined && r.agg !== 'rt';
    const rule = interval ? `${name}/${r.agg}` : name;
    const timing = interval ? { ...c.timing, minDurationMs: 0, clearDurationMs: 0 } : c.timing;
    const o2Ref = s.o2Ref ?? p.o2Ref;
    const o2 = usable(r, 'o2') ? r.m.o2 : usable(r, 'o2_avg') ? r.m.o2_avg : undefined;
    for (const [field, max] of Object.entries({ ...p.limits, ...s.limits })) {
      // A converted value sent by the instrument wins (ZsRtd, or ZsAvg for interval data).
      const zs = [`${field}_zs`, `${field}_zsavg`].find((f) => usable(r, f));
      if (zs) {
        c.observe(limit(rule, field, max, timing), r.ts, r.m[zs]!);
        continue;
      }
      const raw = [field, `${field}_avg`].find((f) => usable(r, f));
      if (!raw) continue;
      let v = r.m[raw]!;
      if (o2Ref !== undefined && o2 !== undefined && o2 < 21) v = toReferenceO2(v, o2, o2Ref);
      c.observe(limit(rule, field, max, timing), r.ts, v);
    }
  }
}
