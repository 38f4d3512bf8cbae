// Stacks (CEMS), ammonia slip, catering fumes and VOC: each reading against its emission profile
// (standards/emission.ts), converted to the profile's reference O2 unless the instrument sent the
// converted value. Interval data (HJ 212 minute/hour/day means) is a rule of its own (`profile/agg`),
// and an interval mean past its limit is an exceedance without waiting. Profiles that limit 1-hour
// means (GB 37822, GB 16297) are also judged on the mean of each clock hour's readings, as
// `profile/hour`; a catering monitor's fan running with its purifier off is `gb18483-purifier`.
import type { SampleRecord } from '../../../protocol/envelope.ts';
import { HOUR } from '../../../protocol/time.ts';
import { HourAccumulator } from '../../../standards/averages.ts';
import { EMISSION_PROFILES, toReferenceO2, type EmissionProfile } from '../../../standards/emission.ts';
import type { DeviceSettings } from '../devices.ts';
import { limit, plain, usable, type Judge, type JudgeCall } from './judge.ts';

/** The profile a kind is judged on when the devices file names none. */
const DEFAULT_PROFILE: Record<string, string> = {
  'stack.cems': 'ultra-low',
  'stack.nh3slip': 'scr-slip',
  fumes: 'gb18483-fumes',
  voc: 'gb37822-voc-1h',
};
const NO_WAIT = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
/** A gateway catching up may still be in the hour before the newest one. */
const REPLAY_HOURS = 2;

/** A limited field, with the names of its converted and mean values worked out once. */
interface FieldLimit {
  field: string;
  max: number;
  zs: string;
  zsavg: string;
  avg: string;
}

/** A device's limits under one profile: on readings, and on hourly (and daily) means. */
interface Limits {
  name: string;
  profile: EmissionProfile;
  single: FieldLimit[];
  hourly: FieldLimit[];
  /** For hourly and daily means: the hourly limits, and the reading limits of fields without one. */
  means: FieldLimit[];
  o2Ref: number | undefined;
}

/** The open clock hour of a device whose profile limits hourly means. */
interface OpenHour {
  start: number;
  means: Map<string, HourAccumulator>;
}

export class EmissionJudge implements Judge {
  /** Limits per device settings and profile, worked out once (this is the hot path of every stack). */
  private limitsCache = new WeakMap<DeviceSettings, Map<string, Limits>>();
  private hours = new Map<string, OpenHour>();

  judge(c: JudgeCall): void {
    const { r, s } = c;
    const l = this.limitsOf(s, s.profile ?? DEFAULT_PROFILE[r.kind]!);
    const interval = r.agg !== undefined && r.agg !== 'rt';
    if (!interval) {
      observeAll(c, l, l.single, l.name, c.timing);
      if (l.hourly.length) this.addToHour(r, l, c);
      if (r.m.fan !== undefined) purifier(c);
      return;
    }
    // Hourly and daily means are held to the hourly limits (a daily mean past one means some hour was).
    observeAll(c, l, r.agg === 'min' ? l.single : l.means, `${l.name}/${r.agg}`, NO_WAIT);
  }

  replayFrom(newest: number): number {
    return Math.floor(newest / HOUR) * HOUR - (REPLAY_HOURS - 1) * HOUR;
  }

  replay(r: SampleRecord, s: DeviceSettings): void {
    const l = this.limitsOf(s, s.profile ?? DEFAULT_PROFILE[r.kind]!);
    if (l.hourly.length) this.addToHour(r, l);
  }

  openPeriod(dev: string): { start: number; end: number } | undefined {
    const h = this.hours.get(dev);
    return h && { start: h.start, end: h.start + HOUR };
  }

  /** Adds a reading to its clock hour; a reading of a newer hour first closes the open one (judged with `c`). */
  private addToHour(r: SampleRecord, l: Limits, c?: JudgeCall): void {
    const start = Math.floor(r.ts / HOUR) * HOUR;
    let h = this.hours.get(r.dev);
    if (h && start < h.start) return; // a late reading of an hour already judged
    if (!h || start > h.start) {
      if (h && c) closeHour(c, l, h);
      const means = new Map(l.hourly.map((x) => [x.field, new HourAccumulator(start)]));
      this.hours.set(r.dev, (h = { start, means }));
    }
    const o2 = o2Of(r);
    for (const x of l.hourly) {
      const v = valueOf(r, l, x, o2);
      if (v !== undefined) h.means.get(x.field)!.add(r.ts, v, r.f?.[x.field]);
    }
  }

  private limitsOf(s: DeviceSettings, name: string): Limits {
    let byName = this.limitsCache.get(s);
    if (!byName) this.limitsCache.set(s, (byName = new Map()));
    let l = byName.get(name);
    if (!l) byName.set(name, (l = limitsFor(s, name)));
    return l;
  }
}

/**
 * A device's `limits` replace the profile's: on hourly means for a field the profile judges on hourly
 * means, on readings otherwise (and add fields of their own on readings).
 */
function limitsFor(s: DeviceSettings, name: string): Limits {
  const profile = EMISSION_PROFILES[name]!;
  const hourly = { ...profile.hourly };
  const single = { ...profile.limits };
  for (const [f, v] of Object.entries(s.limits ?? {})) {
    if (f in hourly) hourly[f] = v;
    else single[f] = v;
  }
  const named = ([field, max]: [string, number]): FieldLimit => ({
    field,
    max,
    zs: `${field}_zs`,
    zsavg: `${field}_zsavg`,
    avg: `${field}_avg`,
  });
  return {
    name,
    profile,
    single: Object.entries(single).map(named),
    hourly: Object.entries(hourly).map(named),
    means: Object.entries({ ...single, ...hourly }).map(named),
    o2Ref: s.o2Ref ?? profile.o2Ref,
  };
}

function observeAll(c: JudgeCall, l: Limits, limits: FieldLimit[], rule: string, timing: JudgeCall['timing']): void {
  const o2 = o2Of(c.r);
  for (const x of limits) {
    const v = valueOf(c.r, l, x, o2);
    if (v !== undefined) c.observe(limit(rule, x.field, x.max, timing), c.r.ts, v);
  }
}

/** The hour's valid means (45 minutes of readings, HJ 212 Appendix D) against the hourly limits. */
function closeHour(c: JudgeCall, l: Limits, h: OpenHour): void {
  for (const x of l.hourly) {
    const m = h.means.get(x.field)!.mean();
    if (m.valid) c.observe(limit(`${l.name}/hour`, x.field, x.max, NO_WAIT), h.start, m.value!);
  }
}

/**
 * The value judged: the instrument's converted value (ZsRtd, or ZsAvg for interval data), else the
 * measured value (or interval mean) converted to the profile's reference O2 when there is one.
 */
function valueOf(r: SampleRecord, l: Limits, x: FieldLimit, o2: number | undefined): number | undefined {
  if (usable(r, x.zs)) return r.m[x.zs];
  if (usable(r, x.zsavg)) return r.m[x.zsavg];
  const raw = usable(r, x.field) ? x.field : usable(r, x.avg) ? x.avg : undefined;
  if (!raw) return undefined;
  const v = r.m[raw]!;
  return l.o2Ref !== undefined && o2 !== undefined && o2 < 21 ? toReferenceO2(v, o2, l.o2Ref) : v;
}

const o2Of = (r: SampleRecord): number | undefined =>
  usable(r, 'o2') ? r.m.o2 : usable(r, 'o2_avg') ? r.m.o2_avg : undefined;

/**
 * Cooking without cleaning: the fan running (the kitchen is cooking) while the purifier is off. The
 * value is 1 then and 0 otherwise, held past 0.5 with the lifecycle's delays (a purifier that starts a
 * few seconds after the fan raises nothing).
 */
function purifier(c: JudgeCall): void {
  const { r } = c;
  if (!usable(r, 'fan') || !usable(r, 'purifier')) return;
  const bypassed = r.m.fan! >= 0.5 && r.m.purifier! < 0.5 ? 1 : 0;
  c.observe(
    plain('gb18483-purifier', 'purifier', 0.5, c.timing.minDurationMs, c.timing.clearDurationMs),
    r.ts,
    bypassed,
  );
}
