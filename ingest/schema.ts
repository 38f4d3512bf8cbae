// Envelope records → InfluxDB points (docs/protocol.md §7). Nothing here may differ between a record and
// its replay: a replay must overwrite its first copy, not sit beside it.
import type { Aggregation, SampleRecord } from '../protocol/envelope.ts';
import { isEventKind, measurementOf } from '../protocol/kinds.ts';
import { encodeSeries, escapeKey, escapeString, eventNs, nsTimestamp } from '../protocol/line-protocol.ts';
import { writeDigits, type LineWriter } from './line-writer.ts';

/** Site tags of a device (from the ingest --devices file). */
export interface SiteInfo {
  district?: string;
  site?: string;
}

/** A device's series string (measurement + sorted, escaped tags) and what it was made of. */
interface Series {
  gw: string;
  kind: string;
  site: SiteInfo | undefined;
  text: string;
  /** `text` as UTF-8, for lines written as bytes. */
  bytes: Buffer;
}

/**
 * Series by device and aggregation: a device's records nearly always share one, so it is found without
 * building a key string per record, and made again only when its gateway, kind or site changes.
 */
const seriesByAgg: Record<Aggregation, Map<string, Series>> = {
  rt: new Map(),
  min: new Map(),
  hour: new Map(),
  day: new Map(),
};
const SERIES_CACHE_MAX = 100_000;

function seriesOf(gw: string, r: SampleRecord, site?: SiteInfo): Series {
  const cache = seriesByAgg[r.agg ?? 'rt'];
  const s = cache.get(r.dev);
  if (s !== undefined && s.gw === gw && s.kind === r.kind && s.site === site) return s;
  const tags: Record<string, string | undefined> = {
    dev: r.dev,
    gw,
    kind: r.kind,
    district: site?.district,
    site: site?.site,
  };
  if (r.agg && r.agg !== 'rt') tags.agg = r.agg;
  const text = encodeSeries(measurementOf(r.kind), tags);
  if (cache.size >= SERIES_CACHE_MAX) cache.clear();
  const made = { gw, kind: r.kind, site, text, bytes: Buffer.from(text) };
  cache.set(r.dev, made);
  return made;
}

/**
 * One line per record: the readings, HJ 212 flags other than N as `{field}_flag` strings, text
 * attributes (plate, fuel …) as string fields, and the
 * record's outbox seq, which is the same on every replay and lets anyone audit completeness with a query.
 */
/** `r` is a record as the envelope decoder returns it (names checked, readings finite). */
export function recordLine(gw: string, seq: number, r: SampleRecord, site?: SiteInfo): string {
  let line = seriesOf(gw, r, site).text;
  let sep = ' ';
  // Field names passed the envelope decoder (registry keys: [a-z0-9_]), so they need no escaping, and
  // its values are finite numbers, whose JavaScript text is a line-protocol float as it is.
  for (const k in r.m) {
    line += sep + k + '=' + r.m[k]!;
    sep = ',';
  }
  if (r.f) for (const k in r.f) if (r.f[k] !== 'N') line += ',' + escapeKey(k + '_flag') + '=' + escapeString(r.f[k]!);
  // Attribute names are [a-z0-9_] and never a reading's name (the decoder checks): no escaping needed.
  if (r.a) for (const k in r.a) line += ',' + k + '=' + escapeString(r.a[k]!);
  line += ',seq=' + seq + ' ' + nsTimestamp(r.ts, isEventKind(r.kind) ? eventNs(identityOf(r)) : 0);
  // A line built by `+=` is a tree of some forty string pieces, and an envelope's lines stay alive until
  // all its records are done: every young-generation collection meanwhile copies each tree whole.
  // Reading a character makes V8 flatten the line into one string now, and its pieces die at once
  // (measured: ingest 12.4 → 9.1 µs of CPU per record in `npm run bench`).
  line.charCodeAt(0);
  return line;
}

/** What tells an event from another of its device in the same millisecond: its attributes and readings. */
export function identityOf(r: SampleRecord): string {
  let s = '';
  if (r.a) for (const k of Object.keys(r.a).sort()) s += k + '=' + r.a[k] + ';';
  for (const k of Object.keys(r.m).sort()) s += k + '=' + r.m[k] + ';';
  return s;
}

/**
 * Writes `r`'s line into `w` as `recordLine` makes it, byte for byte, copying the readings' text from
 * the envelope's own bytes (`payload[start, end)` is its `m` object) instead of turning each parsed number
 * back into text. `fields` is how many readings the decoder kept. Falls back to `recordLine` for what
 * it does not copy: a record with refused readings (fewer kept than written), attributes, or an event's
 * time offset, and a number written with an exponent.
 */
export function writeRecordLine(
  w: LineWriter,
  gw: string,
  seq: number,
  r: SampleRecord,
  site: SiteInfo | undefined,
  payload: Uint8Array,
  start: number,
  end: number,
  fields: number,
): void {
  if (r.a === undefined && !isEventKind(r.kind)) {
    const series = seriesOf(gw, r, site).bytes;
    // The series, the readings' text (at most the object's length), flags, ",seq=" and the time.
    let flagBytes = 0;
    if (r.f) for (const k in r.f) flagBytes += k.length + 12;
    const buf = w.room(series.length + (end - start) + flagBytes + 64);
    let o = w.at + series.copy(buf, w.at);
    o = copyReadings(payload, start, end, fields, buf, o);
    if (o >= 0) {
      if (r.f) for (const k in r.f) if (r.f[k] !== 'N') o = writeAscii(buf, o, ',' + k + '_flag="' + r.f[k] + '"');
      o = writeAscii(buf, o, ',seq=');
      o = writeDigits(buf, o, seq);
      buf[o++] = 0x20;
      o = writeDigits(buf, o, r.ts);
      o = writeAscii(buf, o, '000000');
      w.endLine(o);
      return;
    }
  }
  w.text(recordLine(gw, seq, r, site));
}

/**
 * Copies `{"k":v,…}` as ` k=v,…`; -1 when the text is not `fields` plain numbers under plain names
 * (an escape, a repeated name, an exponent, a value of another type): the caller then makes the line
 * from the parsed record.
 */
function copyReadings(p: Uint8Array, i: number, end: number, fields: number, buf: Buffer, o: number): number {
  let n = 0;
  let sep = 0x20;
  for (i++; i < end;) {
    let c = p[i]!;
    if (c === 0x7d) break; // }
    if (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    if (c !== 0x22) return -1;
    buf[o++] = sep;
    sep = 0x2c;
    for (i++; (c = p[i]!) !== 0x22; i++) {
      if (c === 0x5c || i >= end) return -1;
      buf[o++] = c;
    }
    buf[o++] = 0x3d; // =
    for (i++; (c = p[i]!) !== 0x3a; i++) if (i >= end) return -1; // to the colon
    for (i++; (c = p[i]!) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; i++);
    const from = i;
    // JSON number characters other than the exponent's: digits . and -
    while ((c = p[i]!) === 0x2d || c === 0x2e || (c >= 0x30 && c <= 0x39)) buf[o++] = p[i++]!;
    if (i === from || c === 0x65 || c === 0x45 || c === 0x22 || c === 0x7b || c === 0x5b) return -1;
    n++;
  }
  return n === fields ? o : -1;
}

function writeAscii(buf: Buffer, o: number, s: string): number {
  for (let j = 0; j < s.length; j++) buf[o++] = s.charCodeAt(j);
  return o;
}
