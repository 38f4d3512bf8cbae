// Devices that push their records to a gateway's http link through a vendor platform (vapour-recovery
// stations): every `everyMs` the records of the time since the last push are POSTed; a failed POST
// is retried (records stay queued, bounded) until the gateway answers, so a gateway restart loses nothing.
import type { SampleRecord } from '../protocol/envelope.ts';
import { log } from '../protocol/log.ts';
import { postRecords, type PushTarget } from './rsd-push.ts';

export interface PusherOptions {
  everyMs?: number;
  backlogMs?: number;
  what?: string;
  /** Records per POST (default 2000) and records queued at most while the gateway does not answer (200,000). */
  chunk?: number;
  maxQueued?: number;
}

export class RecordPusher {
  private timer?: NodeJS.Timeout;
  private from: number;
  private queue: SampleRecord[] = [];
  private busy = false;
  stats = { records: 0, pushed: 0, dropped: 0, failures: 0 };

  /** `backlogMs`: records of this much time before start go first, as a platform forwards what it holds. */
  constructor(
    private target: PushTarget,
    private records: (from: number, to: number) => SampleRecord[],
    private o: PusherOptions = {},
  ) {
    this.from = Date.now() - (o.backlogMs ?? 10 * 60_000);
  }

  start(): this {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.everyMs ?? 5000);
    return this;
  }

  private async tick(): Promise<void> {
    const to = Date.now();
    const r = this.records(this.from, to);
    this.from = to;
    this.stats.records += r.length;
    this.queue.push(...r);
    const max = this.o.maxQueued ?? 200_000;
    if (this.queue.length > max) {
      const n = this.queue.length - max;
      this.queue.splice(0, n);
      this.stats.dropped += n;
      log('warn', `${this.o.what ?? 'pusher'} dropped its oldest queued records: the gateway has not answered`, {
        dropped: n,
      });
    }
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.slice(0, this.o.chunk ?? 2000);
        await postRecords(this.target, batch);
        this.queue.splice(0, batch.length);
        this.stats.pushed += batch.length;
      }
    } catch (e) {
      if (this.stats.failures++ % 30 === 0)
        log('warn', `${this.o.what ?? 'pusher'} cannot push to the gateway; retrying`, {
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
