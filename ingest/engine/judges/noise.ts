// Acoustic environment points: Leq against the GB 3096 day or night limit of the point's zone (2
// unless the devices file says otherwise), and at night Lmax against the night limit + 15 dB(A).
import { checkNoise } from '../../../standards/noise.ts';
import { limit, usable, type Judge, type JudgeCall } from './judge.ts';

export class NoiseJudge implements Judge {
  judge(c: JudgeCall): void {
    const { r, s } = c;
    const zone = s.noiseZone ?? '2';
    const leq = usable(r, 'leq') ? r.m.leq : usable(r, 'la') ? r.m.la : undefined;
    const lmax = usable(r, 'lmax') ? r.m.lmax : undefined;
    const check = checkNoise(zone, r.ts, leq, lmax);
    if (leq !== undefined) c.observe(limit(`gb3096-${zone}`, 'leq', check.limit, c.timing), r.ts, leq);
    if (check.lmaxLimit !== undefined && lmax !== undefined)
      c.observe(limit(`gb3096-${zone}-night-lmax`, 'lmax', check.lmaxLimit, c.timing), r.ts, lmax);
  }
}
