// The sink contract: one set of tests that every way of writing to a database must pass, each against a
// real server on a free port (tests/integration/sink-contract.test.ts runs it for InfluxDB 1.x /write,
// and /api/v2/write over the sink's own HTTP pool and over @influxdata/influxdb-client). What a server cannot do on demand
// (401, 403, slow answers, Retry-After) is tested against a local stub in tests/unit/line-sink.test.ts.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSink, type Endpoint, type SinkOptions } from '../../ingest/sinks/line-sink.ts';
import { nsTimestamp } from '../../protocol/line-protocol.ts';
import { setLogStream } from '../../protocol/log.ts';
import type { Influxd } from './influxd.ts';
import { startOnPickedPort } from './picked-port.ts';
import { victoriaMetricsOn } from './victoria-metrics.ts';
import { waitFor } from './wait.ts';

/** One stored copy of a line `{m},dev=… v=…,seq=… {time}`. */
export interface Stored {
  time: number;
  dev: string;
  v: number;
  seq: number;
}

export interface SinkTarget {
  /** The endpoint under test, on the running server. */
  endpoint(): Endpoint;
  /** Every stored copy of measurement `m`'s points (a server that keeps duplicates shows each). */
  stored(m: string): Promise<Stored[]>;
  /** Stops the server, keeping its data and port; start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * A line the server can never accept, and the reason it gives; no reason when the server answers 2xx
   * and skips the line itself (VictoriaMetrics only logs it), so there is nothing to dead-letter.
   */
  refusal: { line: (m: string) => string; reason?: RegExp };
  /**
   * An endpoint whose server answers 404 (no such database, or no /api/v2/write). With `stored`, the
   * sink creates the database and writes there; without, it says how to and waits.
   */
  missing(): { endpoint: Endpoint; stored?: (m: string) => Promise<Stored[]> };
}

/** Pinned sample times (any date works; servers keep these for 100 years). */
const T0 = Date.UTC(2024, 0, 1);
const OPTIONS: Partial<SinkOptions> = {
  batchLines: 50,
  flushMs: 5,
  maxBufferLines: 400,
  concurrency: 2,
  requestTimeoutMs: 10_000,
  retryMinMs: 20,
  retryMaxMs: 200,
};

// Times in ns, as the sinks write them (docs/protocol.md §7.1).
export const line = (m: string, seq: number): string =>
  `${m},dev=d${seq % 3} v=${seq * 1.5},seq=${seq} ${nsTimestamp(T0 + seq)}`;
const expected = (seq: number): Stored => ({ time: T0 + seq, dev: `d${seq % 3}`, v: seq * 1.5, seq });
const bySeq = (rows: Stored[]) => [...rows].sort((a, b) => a.seq - b.seq || a.time - b.time);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Records what the sink calls back for each write. */
class Writes {
  done: number[] = [];
  rejected: { write: number; reason: string }[] = [];
  private n = 0;

  constructor(
    readonly sink: LineSink,
    readonly m: string,
  ) {}

  /** Writes seqs `from`…`from+n-1` as one write; resolves when the sink took them (not when stored). */
  write(from: number, n: number, onDone: (write: number) => void = () => undefined): Promise<void> {
    const i = this.n++;
    const lines = range(from, n).map((s) => line(this.m, s));
    return this.sink.write(
      lines,
      () => {
        this.done.push(i);
        onDone(i);
      },
      (reason) => this.rejected.push({ write: i, reason }),
    );
  }

  get count(): number {
    return this.n;
  }
}

/** Write sizes that cut batches everywhere: 1 to 37 lines. */
const sizes = (total: number): number[] => {
  const out: number[] = [];
  for (let k = 0, left = total; left > 0; k++) {
    const n = Math.min(left, 1 + ((k * 17) % 37));
    out.push(n);
    left -= n;
  }
  return out;
};

export function sinkContract(name: string, makeTarget: () => SinkTarget | Promise<SinkTarget>): void {
  describe(`sink contract: ${name}`, () => {
    let target: SinkTarget;
    let measurements = 0;
    const sinks: LineSink[] = [];
    /** A fresh measurement per test: the servers are shared. */
    const fresh = () => `contract_${name.replace(/\W+/g, '_').toLowerCase()}_${measurements++}`;
    const sinkFor = (endpoint: Endpoint, o: Partial<SinkOptions> = {}) => {
      const sink = new LineSink(endpoint, { ...OPTIONS, ...o });
      sinks.push(sink);
      return sink;
    };
    /** What the sinks logged (errors only, at the tests' log level). */
    const logs: string[] = [];
    beforeAll(async () => {
      target = await makeTarget();
      setLogStream({ write: (s: string) => logs.push(s) });
    });
    afterAll(() => {
      sinks.forEach((s) => s.close());
      setLogStream(process.stderr);
    });

    it('stores every line exactly once, with its values, tag and timestamp', async () => {
      const m = fresh();
      const w = new Writes(sinkFor(target.endpoint()), m);
      let from = 0;
      for (const n of sizes(1000)) {
        await w.write(from, n);
        from += n;
      }
      await w.sink.drain();
      expect(bySeq(await target.stored(m))).toEqual(range(0, 1000).map(expected));
      expect(w.done.sort((a, b) => a - b)).toEqual(range(0, w.count));
      expect(w.rejected).toEqual([]);
    });

    it('settles a write once, only after its lines are stored, in write order with one batch on the wire', async () => {
      for (const concurrency of [1, 2]) {
        const m = fresh();
        const w = new Writes(sinkFor(target.endpoint(), { concurrency, batchLines: 30 }), m);
        const writes: { from: number; n: number }[] = [];
        // Each settle starts a read: what it finds was stored before the write was settled.
        const seen: Promise<{ write: number; missing: number[] }>[] = [];
        const check = (i: number) => {
          const { from, n } = writes[i]!;
          seen.push(
            target.stored(m).then((rows) => {
              const have = new Set(rows.map((r) => r.seq));
              return { write: i, missing: range(from, n).filter((s) => !have.has(s)) };
            }),
          );
        };
        let from = 0;
        for (const n of sizes(300)) {
          writes.push({ from, n });
          await w.write(from, n, check);
          from += n;
        }
        await w.sink.drain();
        const found = await Promise.all(seen);
        expect(found.filter((f) => f.missing.length > 0)).toEqual([]);
        expect([...w.done].sort((a, b) => a - b)).toEqual(range(0, writes.length));
        if (concurrency === 1) expect(w.done).toEqual(range(0, writes.length));
      }
    });

    it('waits out an outage, retrying, and stores everything once when the server is back on its port', async () => {
      const m = fresh();
      const w = new Writes(sinkFor(target.endpoint()), m);
      await w.write(0, 10);
      await w.sink.drain();
      await target.stop();
      for (let k = 0; k < 4; k++) await w.write(10 + 20 * k, 20);
      await waitFor('three failed attempts while the server is down', () => w.sink.stats.retries >= 3, 20_000);
      expect(w.sink.stats.failing).toBe(true);
      expect(w.done).toEqual([0]);
      expect(w.rejected).toEqual([]);
      await target.start();
      await w.sink.drain();
      expect(bySeq(await target.stored(m))).toEqual(range(0, 90).map(expected));
      expect(w.done).toHaveLength(5);
      expect(w.rejected).toEqual([]);
      expect(w.sink.stats.failing).toBe(false);
    });

    it('pushes back: write() waits while the buffer is full, and goes on once there is room', async () => {
      const m = fresh();
      const w = new Writes(sinkFor(target.endpoint(), { maxBufferLines: 100 }), m);
      await target.stop();
      for (let k = 0; k < 4; k++) await w.write(25 * k, 25);
      expect(w.sink.bufferedLines).toBe(100);
      let admitted = false;
      const blocked = w.write(100, 30).then(() => {
        admitted = true;
      });
      // Two failed attempts after the blocked write began: the sink had its chances to let it in.
      const before = w.sink.stats.retries;
      await waitFor('two more failed attempts', () => w.sink.stats.retries >= before + 2, 20_000);
      expect(admitted).toBe(false);
      expect(w.sink.bufferedLines).toBe(100);
      await target.start();
      await blocked;
      await w.sink.drain();
      expect(bySeq(await target.stored(m))).toEqual(range(0, 130).map(expected));
      expect(w.done).toHaveLength(5);
    });

    it('dead-letters a line the server refuses for good, with its reason, and writes on', async () => {
      const m = fresh();
      const sink = sinkFor(target.endpoint());
      const w = new Writes(sink, m);
      await w.write(0, 10);
      await sink.drain();
      let badDone = false;
      const reasons: string[] = [];
      await sink.write(
        [target.refusal.line(m)],
        () => (badDone = true),
        (r) => reasons.push(r),
      );
      await sink.drain();
      await w.write(10, 10);
      await sink.drain();
      expect(badDone).toBe(true); // settled: the watermark passes it
      const { reason } = target.refusal;
      if (!reason) expect(reasons).toEqual([]);
      else {
        expect(reasons).toHaveLength(1);
        expect(reasons[0]).toMatch(reason);
        expect(sink.stats.rejected).toBe(1);
        expect(logs.filter((l) => l.includes('database rejected a batch'))).toHaveLength(1);
      }
      expect(bySeq(await target.stored(m))).toEqual(range(0, 20).map(expected));
      expect(w.done).toEqual([0, 1]);
      expect(w.rejected).toEqual([]);
    });

    it('meets a 404 with its fix: creates the database, or says how and waits', async () => {
      const m = fresh();
      const missing = target.missing();
      const w = new Writes(sinkFor(missing.endpoint), m);
      await w.write(0, 10);
      if (missing.stored) {
        await w.sink.drain();
        expect(bySeq(await missing.stored(m))).toEqual(range(0, 10).map(expected));
        expect(w.done).toEqual([0]);
        return;
      }
      await waitFor('three failed attempts', () => w.sink.stats.retries >= 3, 20_000);
      expect(w.sink.stats.lastError).toMatch(/^HTTP 404 /);
      expect(w.sink.stats.lastError).toContain(missing.endpoint.missing!.howTo);
      expect(logs.filter((l) => l.includes('the database or bucket does not exist'))).toHaveLength(1);
      w.sink.close();
      await waitFor('the closed sink to give up', () => w.sink.requestsInFlight === 0, 10_000);
      expect(w.done).toEqual([]); // never settled, so never acknowledged
      expect(w.rejected).toEqual([]);
    });
  });
}

/** InfluxDB 1.x `/write`: a malformed line is refused with 400; a database it lacks is created. */
export function influxdTarget(influxd: Influxd, endpoint: (url: string, db: string) => Endpoint): SinkTarget {
  let missing = 0;
  const stored = (db: string) => async (m: string) => {
    const q = new URLSearchParams({ db, epoch: 'ms', q: `SELECT "dev", "v", "seq" FROM "${m}"` });
    const res = await fetch(`${influxd.url}/query?${q}`);
    const body = (await res.json()) as { results: { series?: { values: [number, string, number, number][] }[] }[] };
    const values = body.results[0]?.series?.[0]?.values ?? [];
    return values.map(([time, dev, v, seq]) => ({ time, dev, v, seq }));
  };
  return {
    endpoint: () => endpoint(influxd.url, influxd.db),
    stored: stored(influxd.db),
    stop: () => influxd.stop(),
    start: async () => {
      await influxd.start();
    },
    refusal: { line: (m) => `${m},dev=bad ${T0}`, reason: /^database refused the write: .*unable to parse/ },
    missing: () => {
      const db = `contract_missing_${missing++}`;
      return { endpoint: endpoint(influxd.url, db), stored: stored(db) };
    },
  };
}

/** `/api/v2/write` on VictoriaMetrics; its 404 comes from a server without that API (`without`: influxd 1.x). */
export function victoriaMetricsTarget(
  vm: VictoriaMetricsServer,
  endpoint: (url: string) => Endpoint,
  without: () => string,
): SinkTarget {
  return {
    endpoint: () => endpoint(vm.url),
    stored: (m) => vm.stored(m),
    stop: () => vm.stop(),
    start: () => vm.start(),
    refusal: { line: (m) => `${m},dev=bad ${T0}` },
    missing: () => ({ endpoint: endpoint(without()) }),
  };
}

/**
 * VictoriaMetrics that keeps its port across restarts and does not deduplicate, so a line stored twice
 * shows twice (tests/helpers/victoria-metrics.ts picks a new port each start and deduplicates).
 */
export class VictoriaMetricsServer {
  private proc?: ChildProcess;
  port = 0;

  constructor(readonly dir: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = victoriaMetricsOn(this.dir, ['-retentionPeriod=100y']);
    if (this.port) {
      // A restart takes the port it had (the sink under test keeps its URL).
      this.proc = server.spawn(this.port);
      await waitFor('victoria-metrics', () => server.answers(this.port), 30_000);
      return;
    }
    ({ port: this.port, proc: this.proc } = await startOnPickedPort('victoria-metrics', server));
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }

  /** Every sample of `m`'s fields v and seq, as stored (a duplicate timestamp is a second copy). */
  async stored(m: string): Promise<Stored[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const res = await fetch(`${this.url}/api/v1/export`, {
      method: 'POST',
      body: new URLSearchParams({ 'match[]': `{__name__=~"${m}_(v|seq)"}` }),
    });
    const rows = new Map<string, Stored>();
    for (const text of (await res.text()).split('\n').filter(Boolean)) {
      const s = JSON.parse(text) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const field = s.metric.__name__!.slice(m.length + 1) as 'v' | 'seq';
      const copies = new Map<number, number>();
      s.timestamps.forEach((time, i) => {
        const copy = copies.get(time) ?? 0;
        copies.set(time, copy + 1);
        const key = `${s.metric.dev}@${time}#${copy}`;
        const row = rows.get(key) ?? { time, dev: s.metric.dev!, v: NaN, seq: NaN };
        row[field] = s.values[i]!;
        rows.set(key, row);
      });
    }
    return [...rows.values()];
  }
}
