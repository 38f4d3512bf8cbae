// Vehicle remote sensing: each reading of a valid pass over its fuel type's limit is an `rsd-pass`
// event, and a plate with `count` such passes within the window an `rsd-repeat` event (a high
// emitter). Plates are counted across every site of this worker (vehicles pass sites anywhere).
import {
  judgePass,
  PlateHistory,
  RSD_DEFAULTS,
  RSD_FIELDS,
  type RsdLimits,
  type RsdSettings,
} from '../../../standards/rsd.ts';
import type { DeviceSettings } from '../devices.ts';
import type { Judge, JudgeCall } from './judge.ts';
import { DAY } from '../../../protocol/time.ts';

export class RsdJudge implements Judge {
  /** Over-limit passes per plate, for the repeat-offender rule. */
  readonly plates: PlateHistory;
  private added = 0;

  constructor(readonly settings: RsdSettings = RSD_DEFAULTS) {
    this.plates = new PlateHistory(settings.windowDays * DAY);
  }

  judge(c: JudgeCall): void {
    const { r } = c;
    const fuel = r.a?.fuel;
    const v = judgePass(r.m, fuel, this.limitsFor(c.s), r.a?.invalid);
    if (!v.judged) {
      c.live.verdict = { judged: false, why: v.why };
      return;
    }
    const attrs = { fuel: fuel!, ...(r.a?.plate ? { plate: r.a.plate } : {}) };
    const event = (rule: string, field: string, value: number, limit: number) =>
      c.event({ dev: r.dev, rule, field, state: 'event', ts: r.ts, since: r.ts, value, limit, peak: value, attrs });
    for (const x of v.exceeded) event('rsd-pass', x.field, x.value, x.limit);
    if (v.exceeded.length && r.a?.plate) {
      const n = this.plates.add(r.a.plate, r.ts);
      if (++this.added % 10_000 === 0) this.plates.prune(r.ts);
      if (n >= this.settings.count) event('rsd-repeat', 'passes', n, this.settings.count);
    }
    c.live.verdict = { judged: true, over: v.exceeded.map((x) => x.field) };
  }

  /** Seeds the history with over-limit passes stored before a restart. */
  restorePlates(passes: { plate: string; ts: number }[]): void {
    for (const p of passes) this.plates.add(p.plate, p.ts);
  }

  /** A device's `limits` override the fuel tables' values for the fields those tables judge. */
  private limitsFor(s: DeviceSettings): RsdLimits {
    const own = Object.entries(s.limits ?? {}).filter(([f]) => (RSD_FIELDS as readonly string[]).includes(f));
    if (own.length === 0) return this.settings.limits;
    return Object.fromEntries(
      Object.entries(this.settings.limits).map(([fuel, l]) => [
        fuel,
        { ...l, ...Object.fromEntries(own.filter(([f]) => f in l)) },
      ]),
    );
  }
}
