// A batching line-protocol writer over HTTP: batches by size and time, retries with backoff and never
// gives up on a reachable-but-failing server, and holds a bounded buffer whose fullness pushes back on
// the producer (`write` waits for room). Each chunk's callback runs once its lines are durable.
import { log } from '../../protocol/log.ts';

export interface Endpoint {
  /** Full write URL including query parameters. */
  url: string;
  headers: Record<string, string>;
  describe: string;
  /** InfluxQL /query URL (with db and epoch=ms), where the server has one: used to restore state at start. */
  queryUrl?: string;
  /** What to do when the server answers 404, which means the database or bucket does not exist. */
  missing?: Missing;
}

export interface Missing {
  /** Creates the database, where the endpoint can (v1: CREATE DATABASE); throws why not. */
  create?: () => Promise<void>;
  /** How a person creates it: said once, not in every retry. */
  howTo: string;
}

export interface SinkOptions {
  batchLines: number;
  flushMs: number;
  maxBufferLines: number;
  /** Batches on the wire at once. */
  concurrency: number;
  requestTimeoutMs: number;
}

export const DEFAULT_SINK: SinkOptions = {
  batchLines: 5000,
  flushMs: 200,
  maxBufferLines: 100_000,
  concurrency: 2,
  requestTimeoutMs: 30_000,
};

interface Chunk {
  lines: string[];
  /** Lines not yet in a successful write. */
  left: number;
  done: () => void;
  rejected: (reason: string) => void;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export class LineSink {
  private queue: { chunk: Chunk; from: number }[] = [];
  private buffered = 0;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private waiters: (() => void)[] = [];
  private backoffMs = 0;
  private closed = false;
  /** The one creation of a missing database, shared by the batches that met the 404 (until a write succeeds). */
  private creation?: Promise<boolean>;
  /** The missing database has been reported: its 404s are retried quietly. */
  private missingSaid = false;
  stats = { written: 0, batches: 0, retries: 0, rejected: 0, failing: false, lastError: '' };
  readonly o: SinkOptions;

  constructor(
    readonly endpoint: Endpoint,
    o: Partial<SinkOptions> = {},
  ) {
    this.o = { ...DEFAULT_SINK, ...o };
  }

  get bufferedLines(): number {
    return this.buffered;
  }

  /**
   * Queues lines. Resolves once they are in the buffer, which may mean waiting for room: that wait is
   * the backpressure that stops ingest from reading MQTT while the database is slow or down.
   */
  async write(lines: string[], done: () => void, rejected: (reason: string) => void = () => undefined): Promise<void> {
    if (lines.length === 0) {
      done();
      return;
    }
    while (this.buffered > 0 && this.buffered + lines.length > this.o.maxBufferLines) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.queue.push({ chunk: { lines, left: lines.length, done, rejected }, from: 0 });
    this.buffered += lines.length;
    this.kick();
  }

  private kick(): void {
    if (this.buffered >= this.o.batchLines) this.flush();
    else if (!this.timer && this.buffered > 0)
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.o.flushMs);
  }

  /** Sends what is buffered, up to the concurrency limit. */
  flush(): void {
    while (this.inFlight < this.o.concurrency && this.queue.length > 0) {
      const parts: { chunk: Chunk; n: number }[] = [];
      const body: string[] = [];
      while (body.length < this.o.batchLines && this.queue.length > 0) {
        const head = this.queue[0]!;
        const n = Math.min(head.chunk.lines.length - head.from, this.o.batchLines - body.length);
        for (let i = 0; i < n; i++) body.push(head.chunk.lines[head.from + i]!);
        parts.push({ chunk: head.chunk, n });
        head.from += n;
        if (head.from === head.chunk.lines.length) this.queue.shift();
      }
      this.inFlight++;
      void this.send(body.join('\n'), body.length).then((outcome) => {
        this.inFlight--;
        this.buffered -= body.length;
        for (const p of parts) {
          if (outcome !== 'ok') p.chunk.rejected(outcome);
          if ((p.chunk.left -= p.n) === 0) p.chunk.done();
        }
        while (this.waiters.length && this.buffered < this.o.maxBufferLines) this.waiters.shift()!();
        this.kick();
        if (this.buffered >= this.o.batchLines) this.flush();
      });
    }
  }

  /** Posts one batch until the server takes it; 'ok', or why the server refused it for good. */
  private async send(body: string, lines: number): Promise<string> {
    let justCreated = false;
    for (;;) {
      let retryable: string;
      let missing = false;
      try {
        const res = await fetch(this.endpoint.url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'text/plain; charset=utf-8', ...this.endpoint.headers },
          signal: AbortSignal.timeout(this.o.requestTimeoutMs),
        });
        const text = res.status === 204 ? '' : (await res.text()).slice(0, 500);
        if (res.ok) {
          if (this.stats.failing) log('info', 'database write recovered', { endpoint: this.endpoint.describe });
          this.stats.failing = false;
          this.creation = undefined;
          this.missingSaid = false;
          this.backoffMs = 0;
          this.stats.written += lines;
          this.stats.batches++;
          return 'ok';
        }
        // 400: some lines are malformed or conflict with stored field types; the rest were written
        // (InfluxDB "partial write"). Sending it again would fail the same way.
        if (res.status === 400) {
          this.stats.rejected++;
          log('error', 'database rejected a batch', {
            endpoint: this.endpoint.describe,
            status: res.status,
            error: text,
          });
          return `database refused the write: ${text}`;
        }
        if (res.status === 404 && this.endpoint.missing) {
          missing = true;
          // Written again at once after a creation, but a 404 right after one waits its backoff like any failure.
          if (
            !justCreated &&
            this.endpoint.missing.create &&
            (await (this.creation ??= this.create(this.endpoint.missing.create)))
          ) {
            justCreated = true;
            continue;
          }
          justCreated = false;
          this.sayMissing(text);
        }
        retryable = `HTTP ${res.status} ${text}${res.status === 404 && this.endpoint.missing ? ` (${this.endpoint.missing.howTo})` : hint(res.status)}`;
      } catch (e) {
        retryable = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
      }
      if (this.closed) return `not written: sink closed (${retryable})`;
      this.stats.retries++;
      this.stats.lastError = retryable;
      this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoffMs * 2));
      if (!missing && (!this.stats.failing || this.backoffMs === BACKOFF_MAX_MS)) {
        log('warn', 'database write failed; retrying', {
          endpoint: this.endpoint.describe,
          error: retryable,
          retry_ms: this.backoffMs,
          buffered_lines: this.buffered,
        });
      }
      this.stats.failing = true;
      await new Promise((r) => setTimeout(r, this.backoffMs));
    }
  }

  /** Creates the missing database; true if it now exists. Said once; a failure is tried again at the next retry, quietly. */
  private async create(create: () => Promise<void>): Promise<boolean> {
    try {
      await create();
      log('info', 'the database did not exist: created it', { endpoint: this.endpoint.describe });
      return true;
    } catch (e) {
      if (!this.missingSaid)
        log('error', 'the database does not exist and cannot be created; writes wait until it does', {
          endpoint: this.endpoint.describe,
          error: (e as Error).message,
          fix: this.endpoint.missing!.howTo,
        });
      this.missingSaid = true;
      this.creation = undefined;
      return false;
    }
  }

  /** Reports a missing database or bucket once; writes wait for it with backoff, without a line per retry. */
  private sayMissing(text: string): void {
    if (this.missingSaid) return;
    this.missingSaid = true;
    log('error', 'the database or bucket does not exist; writes wait until it does', {
      endpoint: this.endpoint.describe,
      error: text,
      fix: this.endpoint.missing!.howTo,
      buffered_lines: this.buffered,
    });
  }

  /** Waits until everything buffered has been written (or refused). */
  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flush();
    while (this.buffered > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.flush();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

function hint(status: number): string {
  if (status === 401 || status === 403) return ' (check the database credentials or token)';
  if (status === 404) return ' (does the database or bucket exist?)';
  return '';
}
