// River sections, drinking-water sources and (until they have discharge limits of their own) outfalls:
// each parameter against the GB 3838 limit of the section's target class (class III unless the devices
// file says otherwise); dissolved oxygen is a minimum.
import { CLASS_NAMES, waterLimit } from '../../../standards/water.ts';
import { limit, usable, type Judge, type JudgeCall } from './judge.ts';

const FIELDS = ['do', 'codmn', 'cod', 'bod5', 'nh3n', 'tp', 'tn', 'fluoride'];

export class WaterJudge implements Judge {
  judge(c: JudgeCall): void {
    const { r, s } = c;
    const target = s.targetClass ?? 3;
    for (const field of FIELDS) {
      const l = waterLimit(field, target, s.waterbody ?? 'river');
      if (l && usable(r, field))
        c.observe(
          limit(`gb3838-${CLASS_NAMES[target - 1]}`, field, s.limits?.[field] ?? l.limit, c.timing, l.bound),
          r.ts,
          r.m[field]!,
        );
    }
  }
}
