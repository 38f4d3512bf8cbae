// Gas-station vapour recovery (GB 20952-2020): A/L per nozzle day, flat tank pressure and vapour
// concentration, each a level (0 normal, 1 warning, 2 alarm) held as an alarm past 0.5 — a step from
// warning to alarm is an update. The running state is the open Beijing day (../vapor.ts).
import type { SampleRecord } from '../../../protocol/envelope.ts';
import { dayOf, VaporState } from '../vapor.ts';
import { plain, type Judge, type JudgeCall } from './judge.ts';
import { DAY } from '../../../protocol/time.ts';

/** Rules escalate after 7 days in a row: 8 days of samples rebuild every counter. */
const REPLAY_DAYS = 8;

export class VaporJudge implements Judge {
  private state = new Map<string, VaporState>();

  judge(c: JudgeCall): void {
    if ((c.r.agg ?? 'rt') !== 'rt') return;
    for (const o of this.of(c.r.dev).add(c.r)) c.observe(plain(o.rule, o.field, 0.5), o.ts, o.level);
  }

  replayFrom(newest: number): number {
    return dayOf(newest) - (REPLAY_DAYS - 1) * DAY;
  }

  replay(r: SampleRecord): void {
    this.of(r.dev).add(r);
  }

  openPeriod(dev: string): { start: number; end: number } | undefined {
    const start = this.state.get(dev)?.openDay;
    return start === undefined ? undefined : { start, end: start + DAY };
  }

  private of(dev: string): VaporState {
    let st = this.state.get(dev);
    if (!st) this.state.set(dev, (st = new VaporState()));
    return st;
  }
}
