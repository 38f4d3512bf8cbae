// Remote-sensing sites pushing their passes to a gateway's http link, as a vendor platform would:
// each second the passes of the past second are POSTed; a failed POST is retried (the passes stay
// queued, bounded) until the gateway answers, so a gateway restart loses nothing.
import type { SampleRecord } from '../protocol/envelope.ts';
import { log } from '../protocol/log.ts';
import { passes, type RsdSiteOptions } from './models/rsd.ts';
import { RecordPusher } from './record-push.ts';

const CHUNK = 500;

export interface PushTarget {
  url: string;
  token?: string;
}

/** POSTs records to an http link; resolves with how many it accepted, throws on a refusal naming why. */
export async function postRecords(t: PushTarget, records: SampleRecord[]): Promise<number> {
  let accepted = 0;
  for (let i = 0; i < records.length; i += CHUNK) {
    const res = await fetch(t.url, {
      method: 'POST',
      body: JSON.stringify({ records: records.slice(i, i + CHUNK) }),
      headers: { 'content-type': 'application/json', ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as {
      accepted?: number;
      rejected?: { at: string; reason: string }[];
      error?: string;
    };
    if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${body.error ?? ''}`);
    if (body.rejected?.length)
      log('warn', 'gateway rejected pushed passes', { rejected: body.rejected.length, first: body.rejected[0] });
    if (res.status !== 200 && !body.rejected?.length) throw new Error(`HTTP ${res.status}: ${body.error ?? ''}`);
    accepted += body.accepted ?? 0;
  }
  return accepted;
}

/** The sites' passes, pushed each second, 500 to a POST, at most 100,000 queued. */
export function rsdPusher(target: PushTarget, sites: RsdSiteOptions[]): RecordPusher {
  return new RecordPusher(target, (from, to) => sites.flatMap((s) => passes(s, from, to)), {
    everyMs: 1000,
    what: 'remote-sensing simulator',
    chunk: 500,
    maxQueued: 100_000,
  });
}
