// A batching line-protocol writer over HTTP: batches by size and time, retries with backoff and never
// gives up on a reachable-but-failing server, and holds a bounded buffer whose fullness pushes back on
// the producer (`write` waits for room).
//
// What it promises a writer (tests/helpers/sink-contract.ts checks it against every server):
// - `done` runs exactly once per write, and only after every line of it is in a batch the server
//   answered with 2xx, or refused for good (400: `rejected` runs first, with the server's reason).
// - Lines go out in write order; writes wait for room in write order.
// - Batches complete in any order (up to `concurrency` on the wire), so a write settles when the last
//   batch holding its lines completes: writes of one batch settle in write order, writes of different
//   batches in the order their batches complete (write order when `concurrency` is 1).
// - A sink closed before a batch got through settles none of its writes.
import { log } from '../../protocol/log.ts';
import { httpPost } from './http-post.ts';

export interface Endpoint {
  /** Full write URL including query parameters. */
  url: string;
  headers: Record<string, string>;
  describe: string;
  /** InfluxQL /query URL (with db and epoch=ms), where the server has one: used to restore state at start. */
  queryUrl?: string;
  /** What to do when the server answers 404, which means the database or bucket does not exist. */
  missing?: Missing;
  /** How a batch is posted; over a keep-alive HTTP pool to `url` with `headers` when not set. */
  post?: Post;
  /** How a query's answer is read (GET of a URL under `queryUrl`); `fetch` with `headers` when not set. */
  query?: Query;
}

export interface Missing {
  /** Creates the database, where the endpoint can (v1: CREATE DATABASE); throws why not. */
  create?: () => Promise<void>;
  /** How a person creates it: said once, not in every retry. */
  howTo: string;
}

/** The server's answer to one write. */
export interface Answer {
  status: number;
  /** The body (its first 500 characters), or the reason a client library parsed from it. */
  text: string;
  /** What the server's Retry-After asks for, in ms. */
  retryAfterMs?: number;
}

/** Posts one batch (lines as UTF-8, one per line); rejects when no answer came (refused connection, timeout through `signal`). */
export type Post = (body: Buffer, signal: AbortSignal) => Promise<Answer>;

/** GETs `url`, its body as it streams in; throws `HTTP {status} {reason}` on an error answer. */
export type Query = (url: string, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export interface SinkOptions {
  batchLines: number;
  flushMs: number;
  maxBufferLines: number;
  /** Batches on the wire at once. */
  concurrency: number;
  requestTimeoutMs: number;
  /** The first wait after a failure; it doubles up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
}

export const DEFAULT_SINK: SinkOptions = {
  batchLines: 5000,
  flushMs: 200,
  maxBufferLines: 100_000,
  concurrency: 2,
  requestTimeoutMs: 30_000,
  retryMinMs: 250,
  retryMaxMs: 10_000,
};

/** A server asking for more than this (Retry-After) is tried again after this anyway. */
const RETRY_AFTER_MAX_MS = 300_000;

/**
 * One write's lines, held as UTF-8 outside the JS heap from the moment it is admitted: lines may wait in
 * the buffer as long as the database is slow (up to `maxBufferLines`), and as bytes they are not copied
 * by every garbage collection meanwhile.
 */
interface Chunk {
  /** The lines, each followed by a newline. */
  text: Buffer;
  /** Byte offset just past each line's newline. */
  ends: Uint32Array;
  /** Lines not yet in a completed batch. */
  left: number;
  done: () => void;
  rejected: (reason: string) => void;
}

/** How a batch ended: stored, refused for good (with the server's reason), or given up by close(). */
type Outcome = { written: true } | { refused: string } | { closed: true };

export class LineSink {
  private queue: { chunk: Chunk; from: number }[] = [];
  private buffered = 0;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  /** Writers waiting for room, in write order. */
  private waiting: { chunk: Chunk; admitted: () => void }[] = [];
  /** drain() callers, woken whenever a batch completes. */
  private idle: (() => void)[] = [];
  private backoffMs = 0;
  private closed = false;
  private readonly post: Post;
  /** The one creation of a missing database, shared by the batches that met the 404 (until a write succeeds). */
  private creation?: Promise<boolean>;
  /** The missing database has been reported: its 404s are retried quietly. */
  private missingSaid = false;
  /** `retryInMs`: the wait before the attempt after the last failure. */
  stats = { written: 0, batches: 0, retries: 0, rejected: 0, failing: false, lastError: '', retryInMs: 0 };
  readonly o: SinkOptions;
  /** Told of each batch once it ends (ms from its first attempt, retries included; ok unless refused), for the metrics. */
  onBatch?: (ms: number, ok: boolean) => void;

  constructor(
    readonly endpoint: Endpoint,
    o: Partial<SinkOptions> = {},
  ) {
    this.o = { ...DEFAULT_SINK, ...o };
    this.post = endpoint.post ?? httpPost(endpoint, this.o.concurrency);
  }

  get bufferedLines(): number {
    return this.buffered;
  }

  /** Batches on the wire now (at most `concurrency`). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Queues lines. Resolves once they are in the buffer, which may mean waiting for room: that wait is
   * the backpressure that stops ingest from reading MQTT while the database is slow or down.
   */
  async write(lines: string[], done: () => void, rejected: (reason: string) => void = () => undefined): Promise<void> {
    await this.writeBytes(textOf(lines), done, rejected);
  }

  /**
   * As `write`, with the lines already UTF-8: `text` holds each followed by a newline, `ends` the offset
   * past each. Returns nothing when they went in at once (the common case, with no promise to wait on),
   * else a promise that resolves once they are in.
   */
  writeBytes(
    lines: { text: Buffer; ends: Uint32Array },
    done: () => void,
    rejected: (reason: string) => void = () => undefined,
  ): Promise<void> | undefined {
    const n = lines.ends.length;
    if (n === 0) {
      done();
      return;
    }
    const chunk: Chunk = { text: lines.text, ends: lines.ends, left: n, done, rejected };
    if (this.waiting.length === 0 && this.fits(n)) {
      this.admit(chunk);
      return;
    }
    return new Promise<void>((admitted) => this.waiting.push({ chunk, admitted }));
  }

  /** Room for `n` more lines; an empty buffer takes a write of any size, or it could never go in. */
  private fits(n: number): boolean {
    return this.buffered === 0 || this.buffered + n <= this.o.maxBufferLines;
  }

  private admit(chunk: Chunk): void {
    this.queue.push({ chunk, from: 0 });
    this.buffered += chunk.ends.length;
    this.kick();
  }

  /** Lets waiting writers in, oldest first; one that does not fit holds back those behind it. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.chunk.ends.length)) {
      const w = this.waiting.shift()!;
      this.admit(w.chunk);
      w.admitted();
    }
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
      const { parts, body, lines } = this.cut();
      this.inFlight++;
      const start = performance.now();
      void this.send(body, lines).then((outcome) => {
        if (!('closed' in outcome)) this.onBatch?.(performance.now() - start, 'written' in outcome);
        this.completed(parts, lines, outcome);
      });
    }
  }

  /** Takes the next batch off the queue: up to `batchLines` lines, a write possibly split across batches. */
  private cut(): { parts: { chunk: Chunk; n: number }[]; body: Buffer; lines: number } {
    const parts: { chunk: Chunk; n: number }[] = [];
    const slices: Buffer[] = [];
    let lines = 0;
    while (lines < this.o.batchLines && this.queue.length > 0) {
      const head = this.queue[0]!;
      const { text, ends } = head.chunk;
      const n = Math.min(ends.length - head.from, this.o.batchLines - lines);
      const from = head.from === 0 ? 0 : ends[head.from - 1]!;
      const to = ends[head.from + n - 1]!;
      // Writes made one after another lie side by side in memory (ingest's line writer): one slice for all.
      const last = slices[slices.length - 1];
      if (last && last.buffer === text.buffer && last.byteOffset + last.length === text.byteOffset + from)
        slices[slices.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + to - from);
      else slices.push(text.subarray(from, to));
      parts.push({ chunk: head.chunk, n });
      lines += n;
      head.from += n;
      if (head.from === ends.length) this.queue.shift();
    }
    const body = slices.length === 1 ? slices[0]! : Buffer.concat(slices);
    return { parts, body: body.subarray(0, body.length - 1), lines }; // without the last newline
  }

  private completed(parts: { chunk: Chunk; n: number }[], lines: number, outcome: Outcome): void {
    this.inFlight--;
    this.buffered -= lines;
    // Given up at close: nothing is settled, so the gateway sends these records again.
    if (!('closed' in outcome))
      for (const p of parts) {
        if ('refused' in outcome) p.chunk.rejected(outcome.refused);
        if ((p.chunk.left -= p.n) === 0) p.chunk.done();
      }
    this.admitWaiting();
    for (const wake of this.idle.splice(0)) wake();
    this.kick();
  }

  /** Posts one batch until the server takes it or refuses it for good. */
  private async send(body: Buffer, lines: number): Promise<Outcome> {
    let justCreated = false;
    for (;;) {
      let answer: Answer | undefined;
      let failure = '';
      try {
        answer = await this.post(body, AbortSignal.timeout(this.o.requestTimeoutMs));
      } catch (e) {
        failure = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
      }
      if (answer && answer.status >= 200 && answer.status < 300) return this.written(lines);
      // 400 about the lines (malformed, or a field type conflict; InfluxDB wrote the rest, a "partial
      // write"): sending them again would fail the same way. Any other 400 is about the request itself
      // (a wrong path or a missing parameter): refusing the batch would acknowledge records never stored.
      if ((answer?.status === 400 || answer?.status === 422) && aboutTheLines(answer.text)) return this.refused(answer);
      let quiet = false;
      if (answer?.status === 404 && this.endpoint.missing) {
        // Written again at once after a creation, but a 404 right after one waits its backoff like any failure.
        if (!justCreated && (await this.createMissing())) {
          justCreated = true;
          continue;
        }
        justCreated = false;
        quiet = true;
        this.sayMissing(answer.text);
      }
      if (this.closed) return { closed: true };
      await this.backoff(answer ? this.explain(answer) : failure, quiet, answer && retryAfter(answer));
    }
  }

  private written(lines: number): Outcome {
    if (this.stats.failing) log('info', 'database write recovered', { endpoint: this.endpoint.describe });
    this.stats.failing = false;
    this.creation = undefined;
    this.missingSaid = false;
    this.backoffMs = 0;
    this.stats.written += lines;
    this.stats.batches++;
    return { written: true };
  }

  private refused(answer: Answer): Outcome {
    this.stats.rejected++;
    log('error', 'database rejected a batch', {
      endpoint: this.endpoint.describe,
      status: answer.status,
      error: answer.text,
    });
    return { refused: `database refused the write: ${answer.text}` };
  }

  /** The error of a failed answer, with what a person should check. */
  private explain(a: Answer): string {
    const missing = a.status === 404 && this.endpoint.missing;
    return `HTTP ${a.status} ${a.text}${missing ? ` (${this.endpoint.missing!.howTo})` : hint(a.status)}`;
  }

  /** Counts the failure, says it (once, and again at the longest backoff), and waits before the next attempt. */
  private async backoff(error: string, quiet: boolean, retryAfterMs: number | undefined): Promise<void> {
    this.stats.retries++;
    this.stats.lastError = error;
    this.backoffMs = Math.min(this.o.retryMaxMs, Math.max(this.o.retryMinMs, this.backoffMs * 2));
    // A server that says when to come back (429, 503) is not asked sooner.
    const wait = Math.max(this.backoffMs, Math.min(retryAfterMs ?? 0, RETRY_AFTER_MAX_MS));
    this.stats.retryInMs = wait;
    if (!quiet && (!this.stats.failing || this.backoffMs === this.o.retryMaxMs)) {
      log('warn', 'database write failed; retrying', {
        endpoint: this.endpoint.describe,
        error,
        retry_ms: wait,
        buffered_lines: this.buffered,
      });
    }
    this.stats.failing = true;
    await new Promise((r) => setTimeout(r, wait));
  }

  /** True if a missing database can be, and was, created: once for all the batches that met it. */
  private async createMissing(): Promise<boolean> {
    const create = this.endpoint.missing?.create;
    return create !== undefined && (await (this.creation ??= this.create(create)));
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

  /** Waits until everything buffered, and every writer waiting for room, has been written (or refused). */
  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flush();
    while (this.buffered > 0 || this.waiting.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
      this.flush();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** Retry-After counts where it means "come back then": too many requests, or unavailable for now. */
function retryAfter(a: Answer): number | undefined {
  return a.status === 429 || a.status === 503 ? a.retryAfterMs : undefined;
}

/** Whether a 400/422 answer blames the lines (InfluxDB 1.x, 2.x and 3.x, VictoriaMetrics wordings). */
export function aboutTheLines(text: string): boolean {
  return /unable to parse|partial write|field type conflict|invalid field|bad timestamp|points beyond retention|cannot parse/i.test(
    text,
  );
}

function hint(status: number): string {
  if (status === 400 || status === 422)
    return ' (the server refused the request itself, not a line: check the URL, the database or bucket, and --api)';
  if (status === 401 || status === 403) return ' (check the database credentials or token)';
  if (status === 404) return ' (does the database or bucket exist?)';
  return '';
}

/** A write's lines as UTF-8, each followed by a newline (line protocol escapes newlines inside a line), and where each ends. */
function textOf(lines: string[]): { text: Buffer; ends: Uint32Array } {
  const text = Buffer.from(lines.join('\n') + '\n');
  const ends = new Uint32Array(lines.length);
  let at = 0;
  for (let i = 0; i < lines.length; i++) ends[i] = at = text.indexOf(10, at) + 1;
  return { text, ends };
}
