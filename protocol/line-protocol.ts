// InfluxDB line protocol (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/).
// Hand-written because it is the hot path of ingest: one string concatenation per point, no objects.
// Times are written in nanoseconds (precision=ns): a point is keyed by its series and time, and events
// (vehicle passes) can share a millisecond, so each gets a sub-millisecond offset of its own (eventNs).
import { fnv1a32 } from './topics.ts';

export interface Point {
  measurement: string;
  tags: Record<string, string | undefined>;
  fields: Record<string, number | string | boolean>;
  /** Epoch milliseconds. */
  ts: number;
  /** Nanoseconds past `ts` (0–999 999): an event's offset from eventNs, 0 for samples of a clock. */
  ns?: number;
}

/** Epoch ms and a sub-millisecond offset as a nanosecond timestamp, built as text: epoch ns is past 2^53. */
export function nsTimestamp(ms: number, ns = 0): string {
  return Math.trunc(ms) + (ns === 0 ? '000000' : String(ns).padStart(6, '0'));
}

/**
 * A sub-millisecond offset hashed from an event's identity (what tells it from any other event of its
 * series in the same millisecond). The same event always gets the same offset, so a replay still
 * overwrites its first point, and two events in one millisecond get two points (unless their hashes
 * meet, one chance in a million).
 */
export function eventNs(identity: string): number {
  return fnv1a32(identity) % 1_000_000;
}

// Each rule as a cheap test (no /g state) and the replacement used only when the test hits.
const MEASUREMENT = [/[, \n\r\\]/, /[, \n\r\\]/g] as const;
const KEY = [/[,= \n\r\\]/, /[,= \n\r\\]/g] as const;
const STRING = [/["\\\n]/, /["\\\n]/g] as const;

function escapeWith(s: string, [test, all]: readonly [RegExp, RegExp]): string {
  if (!test.test(s)) return s;
  return s.replace(all, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\' + c));
}

export const escapeMeasurement = (s: string): string => escapeWith(s, MEASUREMENT);
/** Tag keys, tag values and field keys share one escaping rule. */
export const escapeKey = (s: string): string => escapeWith(s, KEY);
export const escapeString = (s: string): string => '"' + escapeWith(s, STRING) + '"';

/** Numbers are always written as floats: a field that is 56 now and 56.5 later must not change type. */
export function formatField(v: number | string | boolean): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`line protocol cannot carry ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return escapeString(v);
}

/** `measurement,tag=value,…` with tags sorted and empty ones left out: the series part of a line. */
export function encodeSeries(measurement: string, tags: Record<string, string | undefined>): string {
  let line = escapeMeasurement(measurement);
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k];
    if (v === undefined || v === '') continue; // InfluxDB rejects empty tag values
    line += ',' + escapeKey(k) + '=' + escapeKey(v);
  }
  return line;
}

export function encodePoint(p: Point): string {
  let line = encodeSeries(p.measurement, p.tags);
  let sep = ' ';
  for (const k in p.fields) {
    line += sep + escapeKey(k) + '=' + formatField(p.fields[k]!);
    sep = ',';
  }
  if (sep === ' ') throw new RangeError(`point ${p.measurement} has no fields`);
  return line + ' ' + nsTimestamp(p.ts, p.ns);
}
