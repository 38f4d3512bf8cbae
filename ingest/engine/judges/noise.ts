// Acoustic environment points (GB 3096-2008; docs/standards/limits.md §7). GB 3096 limits equivalent
// levels over a time, not single readings, so the samples' Leq (or LA) are energy-averaged:
// - each hour's Leq against the limit of the period the hour is in (06–22 day, 22–06 night, Beijing);
// - each day period's L_d and night period's L_n against the day and night limits;
// - at night, each sample's Lmax over the night limit + 15 dB(A) is a sudden-noise event.
// Devices that send hourly (`agg: hour`, `leq`) or daily (`agg: day`, `ld`, `ln`) values are judged on
// those. The zone is the devices file's `noise_zone`, 2 by default.
import type { SampleRecord } from '../../../protocol/envelope.ts';
import { HOUR } from '../../../protocol/time.ts';
import { MIN_MINUTES_PER_HOUR } from '../../../standards/averages.ts';
import {
  energyMean,
  isNight,
  NIGHT_LMAX_MARGIN,
  NOISE_LIMITS,
  periodHours,
  periodStart,
  power,
  type NoiseZone,
} from '../../../standards/noise.ts';
import { plain, usable, type Findings, type Judge, type JudgeCall } from './judge.ts';

/** A period level needs this share of its hours to have a valid hourly Leq (a project choice: GB 3096 sets none). */
export const MIN_PERIOD_SHARE = 0.75;

/** One closed hour or period, as found while adding samples (judged live, dropped in a replay). */
interface Level {
  field: 'leq' | 'ld' | 'ln';
  ts: number;
  value: number;
}

/** A device's open hour and open day or night period, kept as running sums. */
class NoiseState {
  hour = -1;
  private sum = 0;
  private n = 0;
  private minutes = new Uint8Array(60);
  private covered = 0;
  private period = -1;
  private periodSum = 0;
  private periodValid = 0;
  /** The newest sample whose Lmax was judged: a re-sent sample raises no second event. */
  lmaxTs = -1;

  /** Adds a sample's level; returns the hours and periods it closed. */
  add(ts: number, level: number, out: Level[]): void {
    const h = Math.floor(ts / HOUR) * HOUR;
    if (h < this.hour) return; // a late sample of an hour already judged
    if (h > this.hour) this.open(h, out);
    const m = Math.floor((ts - h) / 60_000);
    if (!this.minutes[m]) {
      this.minutes[m] = 1;
      this.covered++;
    }
    this.sum += power(level);
    this.n++;
  }

  private open(h: number, out: Level[]): void {
    if (this.hour >= 0 && this.covered >= MIN_MINUTES_PER_HOUR) {
      const leq = energyMean(this.sum, this.n);
      out.push({ field: 'leq', ts: this.hour, value: leq });
      this.periodSum += power(leq);
      this.periodValid++;
    }
    const p = periodStart(h);
    if (p !== this.period) {
      if (this.period >= 0 && this.periodValid >= periodHours(this.period) * MIN_PERIOD_SHARE)
        out.push({
          field: isNight(this.period) ? 'ln' : 'ld',
          ts: this.period,
          value: energyMean(this.periodSum, this.periodValid),
        });
      this.period = p;
      this.periodSum = 0;
      this.periodValid = 0;
    }
    this.hour = h;
    this.sum = 0;
    this.n = 0;
    this.minutes.fill(0);
    this.covered = 0;
  }
}

export class NoiseJudge implements Judge {
  private state = new Map<string, NoiseState>();
  private closed: Level[] = [];

  judge(c: JudgeCall): void {
    const { r } = c;
    const zone = c.s.noiseZone ?? '2';
    const agg = r.agg ?? 'rt';
    if (agg === 'rt') {
      const st = this.of(r.dev);
      const level = this.level(r);
      if (level !== undefined) {
        st.add(r.ts, level, this.closed);
        for (const l of this.closed) observe(c, zone, l);
        this.closed.length = 0;
      }
      if (usable(r, 'lmax') && r.ts > st.lmaxTs) {
        st.lmaxTs = r.ts;
        lmaxEvent(c, zone, r.ts, r.m.lmax!);
      }
      return;
    }
    // Interval data from the monitor itself: its hourly Leq, its day and night levels.
    if (agg === 'hour' && usable(r, 'leq')) observe(c, zone, { field: 'leq', ts: r.ts, value: r.m.leq! });
    if (agg === 'day') {
      if (usable(r, 'ld')) observe(c, zone, { field: 'ld', ts: r.ts, value: r.m.ld! });
      if (usable(r, 'ln')) observe(c, zone, { field: 'ln', ts: r.ts, value: r.m.ln! });
    }
  }

  replayFrom(newest: number): number {
    return periodStart(newest); // the open period's hours, the open hour among them
  }

  replay(r: SampleRecord): void {
    const st = this.of(r.dev);
    const level = this.level(r);
    if (level !== undefined) st.add(r.ts, level, this.closed);
    this.closed.length = 0;
    if (usable(r, 'lmax')) st.lmaxTs = Math.max(st.lmaxTs, r.ts);
  }

  openPeriod(dev: string): { start: number; end: number } | undefined {
    const h = this.state.get(dev)?.hour;
    return h === undefined || h < 0 ? undefined : { start: h, end: h + HOUR };
  }

  /** The sample's level: its Leq, or the A-weighted level of a monitor that sends no Leq. */
  private level(r: SampleRecord): number | undefined {
    return usable(r, 'leq') ? r.m.leq : usable(r, 'la') ? r.m.la : undefined;
  }

  private of(dev: string): NoiseState {
    let st = this.state.get(dev);
    if (!st) this.state.set(dev, (st = new NoiseState()));
    return st;
  }
}

/** Rule names: `gb3096-{zone}-hour` (hourly Leq), `-ld`, `-ln` (period levels), `-night-lmax`. */
const RULE_OF = { leq: 'hour', ld: 'ld', ln: 'ln' } as const;

/** An hourly or period level against its limit: no delay, no hysteresis (the level is already a mean). */
function observe(f: Findings, zone: NoiseZone, l: Level): void {
  const limits = NOISE_LIMITS[zone];
  const max = l.field === 'ld' ? limits.day : l.field === 'ln' ? limits.night : limits[isNight(l.ts) ? 'night' : 'day'];
  f.observe(plain(`gb3096-${zone}-${RULE_OF[l.field]}`, l.field, max), l.ts, l.value);
}

/** A night sample's Lmax more than 15 dB(A) over the night limit: a one-off sudden-noise event. */
function lmaxEvent(c: JudgeCall, zone: NoiseZone, ts: number, lmax: number): void {
  if (!isNight(ts)) return;
  const max = NOISE_LIMITS[zone].night + NIGHT_LMAX_MARGIN;
  if (lmax > max)
    c.event({
      dev: c.r.dev,
      rule: `gb3096-${zone}-night-lmax`,
      field: 'lmax',
      state: 'event',
      ts,
      since: ts,
      value: lmax,
      limit: max,
      peak: lmax,
    });
}
