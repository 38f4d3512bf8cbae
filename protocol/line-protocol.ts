// InfluxDB line protocol (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/).
// Hand-written because it is the hot path of ingest: one string concatenation per point, no objects.

export interface Point {
  measurement: string;
  tags: Record<string, string | undefined>;
  fields: Record<string, number | string | boolean>;
  /** Epoch milliseconds (write with precision=ms). */
  ts: number;
}

const MEASUREMENT_SPECIAL = /[, \n\r\\]/g;
const KEY_SPECIAL = /[,= \n\r\\]/g;
const STRING_SPECIAL = /["\\\n]/g;

function escapeWith(s: string, re: RegExp): string {
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  return s.replace(re, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\' + c));
}

export const escapeMeasurement = (s: string): string => escapeWith(s, MEASUREMENT_SPECIAL);
/** Tag keys, tag values and field keys share one escaping rule. */
export const escapeKey = (s: string): string => escapeWith(s, KEY_SPECIAL);
export const escapeString = (s: string): string => '"' + escapeWith(s, STRING_SPECIAL) + '"';

/** Numbers are always written as floats: a field that is 56 now and 56.5 later must not change type. */
export function formatField(v: number | string | boolean): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`line protocol cannot carry ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return escapeString(v);
}

export function encodePoint(p: Point): string {
  let line = escapeMeasurement(p.measurement);
  for (const k of Object.keys(p.tags).sort()) {
    const v = p.tags[k];
    if (v === undefined || v === '') continue; // InfluxDB rejects empty tag values
    line += ',' + escapeKey(k) + '=' + escapeKey(v);
  }
  let sep = ' ';
  for (const k in p.fields) {
    line += sep + escapeKey(k) + '=' + formatField(p.fields[k]!);
    sep = ',';
  }
  if (sep === ' ') throw new RangeError(`point ${p.measurement} has no fields`);
  return line + ' ' + Math.trunc(p.ts);
}
