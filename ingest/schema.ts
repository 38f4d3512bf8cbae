// Envelope records → InfluxDB points (DESIGN.md §6). Nothing here may differ between a record and
// its replay: a replay must overwrite its first copy, not sit beside it.
import type { SampleRecord } from '../protocol/envelope.ts';
import { measurementOf } from '../protocol/kinds.ts';
import { encodePoint } from '../protocol/line-protocol.ts';

export interface SiteInfo { district?: string; site?: string }

export function recordLine(gw: string, seq: number, r: SampleRecord, site?: SiteInfo): string {
  const fields: Record<string, number | string> = { ...r.m };
  if (r.f) for (const [k, flag] of Object.entries(r.f)) if (flag !== 'N') fields[`${k}_flag`] = flag;
  // The record's outbox seq: the same on every replay, and it lets anyone audit completeness with a query.
  fields.seq = seq;
  const tags: Record<string, string | undefined> = { dev: r.dev, gw, kind: r.kind, district: site?.district, site: site?.site };
  if (r.agg && r.agg !== 'rt') tags.agg = r.agg;
  return encodePoint({ measurement: measurementOf(r.kind), tags, fields, ts: r.ts });
}
