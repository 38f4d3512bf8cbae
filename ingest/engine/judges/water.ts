// Water (docs/standards/limits.md §6). River sections and drinking-water sources are held to GB 3838-2002:
// each indicator against the limit of the section's *target* class (`target_class`, III by default; a
// source no worse than III, the class GB 3838 gives centralised drinking-water sources), lake or river
// columns by `waterbody`; and the sample's class (single-factor: the worst indicator's class, 劣V beyond
// V) against the target, published on live/ and written to `water_class`. Outfalls discharge under a
// permit, not GB 3838: they are held to their own `limits` only.
import type { SampleRecord } from '../../../protocol/envelope.ts';
import { encodePoint } from '../../../protocol/line-protocol.ts';
import type { DeviceSettings } from '../devices.ts';
import { CLASS_NAMES, waterClass, waterLimit, type WaterClass, type Waterbody } from '../../../standards/water.ts';
import { limit, plain, usable, type Judge, type JudgeCall } from './judge.ts';

/** Indicators with GB 3838 Table 1 limits that monitors send; pH counts for the class only (6–9 in every class). */
const FIELDS = ['do', 'codmn', 'cod', 'bod5', 'nh3n', 'tp', 'tn', 'fluoride'];
const CLASS_FIELDS = [...FIELDS, 'ph'];
/** Means and classes are judgements already: they open and close without waiting. */
const NO_WAIT = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
/** Drinking-water sources are class III or better (GB 3838 §4: classes II and III are source water). */
const SOURCE_WORST_TARGET = 3;

export class WaterJudge implements Judge {
  judge(c: JudgeCall): void {
    if (c.r.kind === 'water.outfall') judgeOutfall(c);
    else judgeSection(c);
  }
}

function judgeSection(c: JudgeCall): void {
  const { r, s } = c;
  const body = s.waterbody ?? 'river';
  const target = targetOf(r, s);
  const interval = r.agg !== undefined && r.agg !== 'rt';
  const rule = `gb3838-${className(target)}${interval ? `/${r.agg}` : ''}`;
  const timing = interval ? NO_WAIT : firstSample(c);
  const m: Record<string, number> = {};
  for (const field of CLASS_FIELDS) {
    const v = valueOf(r, field);
    if (v !== undefined) m[field] = v;
  }
  for (const field of FIELDS) {
    const l = m[field] === undefined ? undefined : waterLimit(field, target, body);
    if (l) c.observe(limit(rule, field, s.limits?.[field] ?? l.limit, timing, l.bound), r.ts, m[field]!);
  }
  // Items GB 3838 Table 1 does not carry here (a source's supplementary items): the device's own limits.
  for (const [field, max] of Object.entries(s.limits ?? {})) {
    const v = FIELDS.includes(field) ? undefined : valueOf(r, field);
    if (v !== undefined) c.observe(limit(rule, field, max, timing), r.ts, v);
  }
  classify(c, m, body, target);
}

/** The sample's class against the target: an alarm while the section is worse than its target. */
function classify(c: JudgeCall, m: Record<string, number>, body: Waterbody, target: Exclude<WaterClass, 6>): void {
  const { cls, by } = waterClass(m, body);
  if (cls === null) return;
  const name = className(cls);
  const targetName = className(target);
  const worst = Object.keys(by).filter((k) => by[k] === cls);
  c.observe(plain('gb3838-class', 'class', target), c.r.ts, cls);
  c.live.water = {
    class: name,
    n: cls,
    target: targetName,
    worst,
    by: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, className(v)])),
  };
  c.points.push(
    encodePoint({
      measurement: 'water_class',
      tags: { dev: c.r.dev },
      fields: { class: name, n: cls, target: targetName, target_n: target, worst: worst.join(',') },
      ts: c.r.ts,
    }),
  );
}

/** An outfall's own discharge limits (permit or GB 8978 values set per device); interval means open at once. */
function judgeOutfall(c: JudgeCall): void {
  const { r, s } = c;
  if (!s.limits) return;
  const interval = r.agg !== undefined && r.agg !== 'rt';
  const rule = interval ? `outfall/${r.agg}` : 'outfall';
  for (const [field, max] of Object.entries(s.limits)) {
    const v = valueOf(r, field);
    if (v !== undefined) c.observe(limit(rule, field, max, interval ? NO_WAIT : firstSample(c)), r.ts, v);
  }
}

/**
 * A water reading is an analyser's cycle (often an hour or four), not one of a stream: it opens an
 * alarm at once. Closing keeps the lifecycle's hysteresis and delay, so a sonde streaming DO around
 * its limit still raises one alarm.
 */
const firstSample = (c: JudgeCall): JudgeCall['timing'] => ({ ...c.timing, minDurationMs: 0 });

/** The section's target: the devices file's, a source's no worse than III. */
function targetOf(r: SampleRecord, s: DeviceSettings): Exclude<WaterClass, 6> {
  const t = s.targetClass ?? 3;
  return r.kind === 'water.source' ? (Math.min(t, SOURCE_WORST_TARGET) as 1 | 2 | 3) : t;
}

const className = (c: WaterClass): string => CLASS_NAMES[c - 1]!;

/** A usable value of `field`: the reading, or the interval's mean. */
function valueOf(r: SampleRecord, field: string): number | undefined {
  if (usable(r, field)) return r.m[field];
  const avg = `${field}_avg`;
  return usable(r, avg) ? r.m[avg] : undefined;
}
