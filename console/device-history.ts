// GET /api/device/{dev}/history (docs/protocol.md §10): a device's readings between two explicit
// bounds, as means over buckets of `step_ms` (InfluxQL GROUP BY time), so a day of one-second samples
// is a few hundred points; and the HJ 212 flag seen most in each bucket that had one. Shared by the
// console server, which builds it, and the page, which draws it.
import { DAY, HOUR, MINUTE } from '../protocol/time.ts';
import type { CaptureRate } from './capture.ts';

const SECOND = 1000;

export interface DeviceHistory {
  dev: string;
  since: number;
  until: number;
  step_ms: number;
  /** The measurement the device writes to (docs/protocol.md §7.2), '' when it has no data in the range. */
  measurement: string;
  /** Bucket means by field, oldest first: [bucket start, mean]. */
  fields: Record<string, [number, number][]>;
  /** By field: [bucket start, the flag other than N seen most in that bucket]. */
  flags: Record<string, [number, string][]>;
  /** The device's hourly data-capture rates in the span (docs/protocol.md §7.9), oldest first. */
  capture: CaptureRate[];
}

/** Buckets one answer holds at most; by default a step is chosen for about `TARGET_POINTS`. */
export const MAX_POINTS = 1000;
const TARGET_POINTS = 300;
/** The longest span one request may read. */
export const MAX_HISTORY_SPAN_MS = 31 * DAY;

/** Steps that read well on an axis. */
const STEPS = [1, 5, 10, 30]
  .map((s) => s * SECOND)
  .concat(
    [1, 2, 5, 10, 15, 30].map((m) => m * MINUTE),
    [1, 2, 3, 6, 12, 24].map((h) => h * HOUR),
  );

/** The smallest step that keeps the span within about 300 buckets (24 h → 5 min). */
export function stepFor(spanMs: number): number {
  return STEPS.find((s) => spanMs / s <= TARGET_POINTS) ?? STEPS[STEPS.length - 1]!;
}

/** What the page needs to check of an answer before drawing it. */
export function decodeDeviceHistory(text: string): DeviceHistory {
  const doc = JSON.parse(text) as Partial<DeviceHistory>;
  for (const k of ['since', 'until', 'step_ms'] as const)
    if (typeof doc[k] !== 'number') throw new Error(`history.${k}: expected a number`);
  if (typeof doc.fields !== 'object' || typeof doc.flags !== 'object') throw new Error('history: no fields');
  doc.capture = Array.isArray(doc.capture) ? doc.capture : [];
  return doc as DeviceHistory;
}
