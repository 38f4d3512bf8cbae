// Envelope records → InfluxDB points (docs/protocol.md §7). Nothing here may differ between a record and
// its replay: a replay must overwrite its first copy, not sit beside it.
import type { SampleRecord } from '../protocol/envelope.ts';
import { isEventKind, measurementOf } from '../protocol/kinds.ts';
import { encodeSeries, escapeKey, escapeString, eventNs, formatField, nsTimestamp } from '../protocol/line-protocol.ts';

/** Site tags of a device (from the ingest --devices file). */
export interface SiteInfo {
  district?: string;
  site?: string;
}

/** Series strings (measurement + sorted, escaped tags) by device: the same for every record of a device. */
const series = new Map<string, string>();
const SERIES_CACHE_MAX = 100_000;

function seriesOf(gw: string, r: SampleRecord, site?: SiteInfo): string {
  const key = `${gw}\0${r.dev}\0${r.kind}\0${r.agg ?? ''}\0${site?.district ?? ''}\0${site?.site ?? ''}`;
  let s = series.get(key);
  if (s === undefined) {
    const tags: Record<string, string | undefined> = {
      dev: r.dev,
      gw,
      kind: r.kind,
      district: site?.district,
      site: site?.site,
    };
    if (r.agg && r.agg !== 'rt') tags.agg = r.agg;
    s = encodeSeries(measurementOf(r.kind), tags);
    if (series.size >= SERIES_CACHE_MAX) series.clear();
    series.set(key, s);
  }
  return s;
}

/**
 * One line per record: the readings, HJ 212 flags other than N as `{field}_flag` strings, text
 * attributes (plate, fuel …) as string fields, and the
 * record's outbox seq, which is the same on every replay and lets anyone audit completeness with a query.
 */
export function recordLine(gw: string, seq: number, r: SampleRecord, site?: SiteInfo): string {
  let line = seriesOf(gw, r, site);
  let sep = ' ';
  // Field names passed the envelope decoder (registry keys: [a-z0-9_]), so they need no escaping.
  for (const k in r.m) {
    line += sep + k + '=' + formatField(r.m[k]!);
    sep = ',';
  }
  if (r.f) for (const k in r.f) if (r.f[k] !== 'N') line += ',' + escapeKey(k + '_flag') + '=' + escapeString(r.f[k]!);
  // Attribute names are [a-z0-9_] and never a reading's name (the decoder checks): no escaping needed.
  if (r.a) for (const k in r.a) line += ',' + k + '=' + escapeString(r.a[k]!);
  return line + ',seq=' + seq + ' ' + nsTimestamp(r.ts, isEventKind(r.kind) ? eventNs(identityOf(r)) : 0);
}

/** What tells an event from another of its device in the same millisecond: its attributes and readings. */
export function identityOf(r: SampleRecord): string {
  let s = '';
  if (r.a) for (const k of Object.keys(r.a).sort()) s += k + '=' + r.a[k] + ';';
  for (const k of Object.keys(r.m).sort()) s += k + '=' + r.m[k] + ';';
  return s;
}
