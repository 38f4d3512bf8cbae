// GB 3838-2002 surface water classes (docs/standards/limits.md §6). Single-factor method: a sample's class is
// the worst class among its parameters; worse than V is "劣V" (class 6). DO is a lower bound; TP has
// river and lake columns; TN counts for lakes and reservoirs only.

export type Waterbody = 'river' | 'lake';
export type WaterClass = 1 | 2 | 3 | 4 | 5 | 6;

interface Param {
  bound: 'max' | 'min';
  limits: [number, number, number, number, number];
}

const PARAMS: Record<string, Param> = {
  do: { bound: 'min', limits: [7.5, 6, 5, 3, 2] },
  codmn: { bound: 'max', limits: [2, 4, 6, 10, 15] },
  cod: { bound: 'max', limits: [15, 15, 20, 30, 40] },
  bod5: { bound: 'max', limits: [3, 3, 4, 6, 10] },
  nh3n: { bound: 'max', limits: [0.15, 0.5, 1.0, 1.5, 2.0] },
  fluoride: { bound: 'max', limits: [1.0, 1.0, 1.0, 1.5, 1.5] },
};
const TP: Record<Waterbody, Param> = {
  river: { bound: 'max', limits: [0.02, 0.1, 0.2, 0.3, 0.4] },
  lake: { bound: 'max', limits: [0.01, 0.025, 0.05, 0.1, 0.2] },
};
const TN_LAKE: Param = { bound: 'max', limits: [0.2, 0.5, 1.0, 1.5, 2.0] };

export const CLASS_NAMES = ['I', 'II', 'III', 'IV', 'V', '劣V'] as const;

function classOf(p: Param, v: number): WaterClass {
  for (let c = 0; c < 5; c++)
    if (p.bound === 'max' ? v <= p.limits[c]! : v >= p.limits[c]!) return (c + 1) as WaterClass;
  return 6;
}

/** The class of each parameter present, and the sample's class (the worst); pH outside 6–9 is 劣V. */
export function waterClass(
  m: Record<string, number>,
  body: Waterbody = 'river',
): { cls: WaterClass | null; by: Record<string, WaterClass> } {
  const by: Record<string, WaterClass> = {};
  for (const [k, p] of Object.entries(PARAMS)) if (m[k] !== undefined) by[k] = classOf(p, m[k]);
  if (m.tp !== undefined) by.tp = classOf(TP[body], m.tp);
  if (m.tn !== undefined && body === 'lake') by.tn = classOf(TN_LAKE, m.tn);
  if (m.ph !== undefined) by.ph = m.ph >= 6 && m.ph <= 9 ? 1 : 6;
  const classes = Object.values(by);
  return { cls: classes.length ? (Math.max(...classes) as WaterClass) : null, by };
}

/** The limit a parameter must meet for a target class (for alarms: "worse than the target class"). */
export function waterLimit(
  param: string,
  target: Exclude<WaterClass, 6>,
  body: Waterbody = 'river',
): { bound: 'max' | 'min'; limit: number } | undefined {
  const p = param === 'tp' ? TP[body] : param === 'tn' ? (body === 'lake' ? TN_LAKE : undefined) : PARAMS[param];
  return p && { bound: p.bound, limit: p.limits[target - 1]! };
}
