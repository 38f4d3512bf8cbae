// Remote-sensing sites pushing their passes to a gateway's http link, as a vendor platform would:
// each second the passes of the past second are POSTed; a failed POST is retried (the passes stay
// queued, bounded) until the gateway answers, so a gateway restart loses nothing.
import type { SampleRecord } from '../protocol/envelope.ts';
import { log } from '../protocol/log.ts';
import { passes, type RsdSiteOptions } from './models/rsd.ts';

const CHUNK = 500;
const MAX_QUEUED = 100_000;

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

export class RsdPusher {
  private timer?: NodeJS.Timeout;
  private from: number;
  private queue: SampleRecord[] = [];
  private busy = false;
  stats = { passes: 0, pushed: 0, dropped: 0, failures: 0 };

  /** `backlogMs`: passes of this much time before start go first, as a platform forwards what it holds when it connects. */
  constructor(
    private target: PushTarget,
    private sites: RsdSiteOptions[],
    backlogMs = 10 * 60_000,
  ) {
    this.from = Date.now() - backlogMs;
  }

  start(): this {
    this.timer = setInterval(() => void this.tick(), 1000);
    return this;
  }

  private async tick(): Promise<void> {
    const to = Date.now();
    for (const s of this.sites) {
      const p = passes(s, this.from, to);
      this.stats.passes += p.length;
      this.queue.push(...p);
    }
    this.from = to;
    if (this.queue.length > MAX_QUEUED) {
      const n = this.queue.length - MAX_QUEUED;
      this.queue.splice(0, n);
      this.stats.dropped += n;
      log(
        'warn',
        'remote-sensing simulator dropped its oldest queued passes: the gateway has not answered for a long time',
        { dropped: n },
      );
    }
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.slice(0, CHUNK);
    try {
      await postRecords(this.target, batch);
      this.queue.splice(0, batch.length);
      this.stats.pushed += batch.length;
    } catch (e) {
      if (this.stats.failures++ % 30 === 0)
        log('warn', 'cannot push passes to the gateway; retrying', {
          url: this.target.url,
          error: (e as Error).message,
          queued: this.queue.length,
        });
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
