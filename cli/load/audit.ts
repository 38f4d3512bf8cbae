// The seq audit of docs/protocol.md §6.6, per gateway over every device measurement: how many points
// carry a seq of the run, how many distinct seqs, the lowest and the highest. With seqs 0…n−1 sent,
// n − distinct were lost and count − distinct were stored twice (at two points).
import { DEVICE_KINDS } from '../../protocol/kinds.ts';

export interface AuditTarget {
  url: string;
  db: string;
  user?: string;
  password?: string;
}

export interface GatewayAudit {
  gw: string;
  sent: number;
  count: number;
  distinct: number;
  min: number | null;
  max: number | null;
  lost: number;
  duplicated: number;
}

const MEASUREMENTS = [...new Set(Object.values(DEVICE_KINDS))].join(',');

type Series = { tags?: Record<string, string>; columns: string[]; values: unknown[][] };

async function series(t: AuditTarget, q: string): Promise<Series[]> {
  const params = new URLSearchParams({ q, db: t.db, epoch: 'ms' });
  if (t.user) {
    params.set('u', t.user);
    params.set('p', t.password ?? '');
  }
  const res = await fetch(`${t.url}/query?${params}`);
  if (!res.ok) throw new Error(`audit query failed: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { results: { series?: Series[]; error?: string }[] };
  const r = body.results[0];
  if (r?.error) throw new Error(`audit query failed: ${r.error}`);
  return r?.series ?? [];
}

/** The audit query for gateways named `{prefix}…` with samples at or after `fromMs` (the run's start). */
export function auditQueries(prefix: string, fromMs: number): { counts: string; distinct: string } {
  const where = `WHERE time >= ${Math.floor(fromMs)}ms AND gw =~ /^${prefix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/ GROUP BY gw`;
  return {
    counts: `SELECT count(seq), min(seq), max(seq) FROM ${MEASUREMENTS} ${where}`,
    distinct: `SELECT count(distinct(seq)) FROM ${MEASUREMENTS} ${where}`,
  };
}

/** Audits each gateway of `sent` (gateway → records handed over, seqs 0…n−1). */
export async function audit(
  t: AuditTarget,
  prefix: string,
  fromMs: number,
  sent: Map<string, number>,
): Promise<GatewayAudit[]> {
  const q = auditQueries(prefix, fromMs);
  const byGw = new Map<string, { count: number; distinct: number; min: number | null; max: number | null }>();
  const entry = (gw: string) => {
    let e = byGw.get(gw);
    if (!e) byGw.set(gw, (e = { count: 0, distinct: 0, min: null, max: null }));
    return e;
  };
  // One series per measurement and gateway: a gateway's seqs are spread over the measurements of its devices.
  for (const s of await series(t, q.counts)) {
    const e = entry(s.tags?.gw ?? '');
    for (const [, count, min, max] of s.values as [unknown, number, number, number][]) {
      e.count += count;
      e.min = e.min === null ? min : Math.min(e.min, min);
      e.max = e.max === null ? max : Math.max(e.max, max);
    }
  }
  for (const s of await series(t, q.distinct)) {
    const e = entry(s.tags?.gw ?? '');
    for (const [, d] of s.values as [unknown, number][]) e.distinct += d;
  }
  return [...sent].map(([gw, n]) => {
    const e = byGw.get(gw) ?? { count: 0, distinct: 0, min: null, max: null };
    return {
      gw,
      sent: n,
      ...e,
      lost: Math.max(0, n - e.distinct),
      duplicated: e.count - e.distinct,
    };
  });
}
