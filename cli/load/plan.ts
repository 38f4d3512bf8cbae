// The device mix of a city and when each device reports: which classes, how many of each, their cadence,
// and how they are spread over gateways. Pure, so the planner is tested without a broker.
import type { DeviceKind } from '../../protocol/kinds.ts';
import { hash01 } from '../../simulators/random.ts';

export interface DeviceClass {
  kind: DeviceKind;
  /** Device id prefix: `{prefix}-{nnnn}`. */
  prefix: string;
  count: number;
  /** Seconds between real-time samples at speed 1; null for event-based classes. */
  cadenceS: number | null;
  /** Mean events an hour per device at speed 1 (event-based classes only). */
  eventsPerHour?: number;
}

/**
 * Hohhot's monitoring plan (14th Five-Year eco-environment plan; docs/scaling.md §1).
 * Cadences are the real-time uploads of each class (HJ 212 CN 2011: 30–60 s); remote sensing reports one
 * record per passing vehicle, 50–400 an hour by day, so a mid-day mean of 200.
 */
export const HOHHOT: readonly DeviceClass[] = [
  { kind: 'air.station', prefix: 'aqs', count: 15, cadenceS: 60 },
  { kind: 'air.micro', prefix: 'aqm', count: 57, cadenceS: 30 },
  { kind: 'stack.cems', prefix: 'cems', count: 345, cadenceS: 30 },
  { kind: 'fumes', prefix: 'fume', count: 583, cadenceS: 60 },
  { kind: 'stack.nh3slip', prefix: 'nh3', count: 50, cadenceS: 30 },
  { kind: 'vapor', prefix: 'vap', count: 158, cadenceS: 30 },
  { kind: 'voc', prefix: 'voc', count: 109, cadenceS: 60 },
  { kind: 'rsd', prefix: 'rsd', count: 30, cadenceS: null, eventsPerHour: 200 },
  { kind: 'water.surface', prefix: 'wsf', count: 14, cadenceS: 60 },
  { kind: 'water.source', prefix: 'wsrc', count: 37, cadenceS: 60 },
  { kind: 'noise', prefix: 'nse', count: 224, cadenceS: 60 },
];

export interface PlannedDevice {
  dev: string;
  kind: DeviceKind;
  /** Mean milliseconds between records at the chosen speed (exact for real-time classes). */
  intervalMs: number;
  /** Whether records come at random (exponential gaps around intervalMs) rather than on a clock. */
  event: boolean;
  /** Offset of the first sample into the first interval, so a class does not report all at once. */
  phaseMs: number;
  /** A per-device seed for its values and event times. */
  seed: number;
}

export interface GatewayPlan {
  gw: string;
  devices: PlannedDevice[];
}

/** Milliseconds between records of one device of `c` at `speed`. */
export function intervalOf(c: DeviceClass, speed: number): number {
  if (!(speed > 0)) throw new Error(`speed must be positive, got ${speed}`);
  const s = c.cadenceS ?? 3600 / (c.eventsPerHour ?? 1);
  return (s * 1000) / speed;
}

/** Records a second the whole mix asks for at `speed`. */
export function askedRate(mix: readonly DeviceClass[], speed: number): number {
  return mix.reduce((sum, c) => sum + (c.count * 1000) / intervalOf(c, speed), 0);
}

/** Every device of the mix, in class order, dealt round-robin over `gateways` gateways named `{prefix}{nnn}`. */
export function planGateways(
  mix: readonly DeviceClass[],
  gateways: number,
  speed: number,
  gwPrefix = 'gw-load-',
): GatewayPlan[] {
  if (!Number.isInteger(gateways) || gateways < 1) throw new Error(`gateways must be at least 1, got ${gateways}`);
  const width = Math.max(3, String(gateways).length);
  const plans: GatewayPlan[] = Array.from({ length: gateways }, (_, g) => ({
    gw: `${gwPrefix}${String(g + 1).padStart(width, '0')}`,
    devices: [],
  }));
  let j = 0;
  for (const c of mix) {
    const intervalMs = intervalOf(c, speed);
    for (let k = 0; k < c.count; k++, j++) {
      plans[j % gateways]!.devices.push({
        dev: `${c.prefix}-${String(k + 1).padStart(4, '0')}`,
        kind: c.kind,
        intervalMs,
        event: c.cadenceS === null,
        phaseMs: hash01(j, 1) * intervalMs,
        seed: j,
      });
    }
  }
  return plans;
}

/** Classes a city may have that Hohhot's plan does not count. */
const OTHER: readonly DeviceClass[] = [{ kind: 'water.outfall', prefix: 'wof', count: 0, cadenceS: 60 }];

/** Parses `kind=count,…` into a mix that keeps the cadences of `base` (for smaller or other cities). */
export function mixFrom(spec: string, base: readonly DeviceClass[] = [...HOHHOT, ...OTHER]): DeviceClass[] {
  const out: DeviceClass[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [kind, n] = part.split('=');
    const c = base.find((b) => b.kind === kind);
    if (!c) throw new Error(`unknown device class "${kind}" (one of ${base.map((b) => b.kind).join(', ')})`);
    const count = Number(n);
    if (!Number.isInteger(count) || count < 0) throw new Error(`${kind}: expected a count >= 0, got "${n}"`);
    out.push({ ...c, count });
  }
  return out;
}

/** Scales the mix's counts by `f` (at least one device of each class that had any). */
export function scaleMix(mix: readonly DeviceClass[], f: number): DeviceClass[] {
  return mix.map((c) => ({ ...c, count: c.count === 0 ? 0 : Math.max(1, Math.round(c.count * f)) }));
}
