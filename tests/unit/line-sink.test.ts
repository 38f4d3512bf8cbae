// The line sink's failure paths against a local HTTP server that answers as a test tells it: status
// codes, Retry-After, timeouts, the bound on batches in flight, settle order and the writers waiting for
// room. What real servers do is tests/integration/sink-contract.test.ts. Nothing here sleeps: each step
// waits for the request it causes to arrive.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { influxV1 } from '../../ingest/sinks/influx-v1.ts';
import { influxV2 } from '../../ingest/sinks/influx-v2.ts';
import { httpPost, parseRetryAfter } from '../../ingest/sinks/http-post.ts';
import { LineSink, type Endpoint, type SinkOptions } from '../../ingest/sinks/line-sink.ts';
import { LineWriter } from '../../ingest/line-writer.ts';
import { setLogStream } from '../../protocol/log.ts';
import { waitFor } from '../helpers/wait.ts';

interface Req {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  res: http.ServerResponse;
  answered: boolean;
}

interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A server that answers each request as `reply` says, or holds it until the test answers it. */
class Stub {
  requests: Req[] = [];
  reply: (r: Req) => Reply | 'hold' = () => ({ status: 204 });
  private arrivals: { n: number; resolve: (r: Req) => void }[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
      const r: Req = { path: req.url ?? '', headers: req.headers, body, res, answered: false };
      this.requests.push(r);
      const how = this.reply(r);
      if (how !== 'hold') this.answer(r, how);
      this.arrivals = this.arrivals.filter((a) => (a.n < this.requests.length ? a.resolve(this.requests[a.n]!) : true));
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  answer(r: Req, reply: Reply = { status: 204 }): void {
    r.answered = true;
    // A connection per request: a kept-alive socket closed between tests would fail a client's next
    // request and count as a retry nobody asked for.
    r.res.writeHead(reply.status, { connection: 'close', ...reply.headers }).end(reply.body ?? '');
  }

  /** Request `n` (from 0), once it has arrived. */
  nth(n: number): Promise<Req> {
    const have = this.requests[n];
    return have ? Promise.resolve(have) : new Promise((resolve) => this.arrivals.push({ n, resolve }));
  }

  /** The first request with this body, once it has arrived (concurrent requests arrive in any order). */
  async carrying(ls: string[]): Promise<Req> {
    const body = ls.join('\n');
    for (let n = 0; ; n++) {
      const r = await this.nth(n);
      if (r.body === body) return r;
    }
  }

  held(): Req[] {
    return this.requests.filter((r) => !r.answered);
  }

  reset(): void {
    this.requests = [];
    this.arrivals = [];
    this.reply = () => ({ status: 204 });
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

// A step that never comes fails in seconds, not at the suite's minute.
vi.setConfig({ testTimeout: 15_000 });

const stub = new Stub();
const logs: string[] = [];
const sinks: LineSink[] = [];
beforeAll(async () => {
  await stub.start();
  setLogStream({ write: (s: string) => logs.push(s) });
});
afterEach(() => {
  sinks.splice(0).forEach((s) => s.close());
  stub.reset();
  logs.length = 0;
});
afterAll(async () => {
  setLogStream(process.stderr);
  await stub.stop();
});

const FAST: Partial<SinkOptions> = { flushMs: 1, retryMinMs: 10, retryMaxMs: 40, requestTimeoutMs: 10_000 };
const sinkOf = (endpoint: Endpoint, o: Partial<SinkOptions> = {}) => {
  const sink = new LineSink(endpoint, { ...FAST, ...o });
  sinks.push(sink);
  return sink;
};
const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `m,w=${tag} v=${i} ${1704067200000 + i}`);

/** Writes `ls`, counting its settles and keeping its dead-letter reasons; `admitted` is write()'s promise. */
function track(sink: LineSink, ls: string[]) {
  const t = { done: 0, reasons: [] as string[] };
  const admitted = sink.write(
    ls,
    () => t.done++,
    (r) => t.reasons.push(r),
  );
  return { t, admitted };
}

const TRANSPORTS = [
  {
    name: 'v1 /write over the keep-alive HTTP pool',
    endpoint: (url: string) => influxV1({ url, db: 'db' }),
    auth: undefined,
    refusal: `{"error":"partial write: unable to parse 'x y': invalid field format dropped=0"}`,
  },
  {
    name: 'v2 /api/v2/write over the keep-alive HTTP pool',
    endpoint: (url: string) => influxV2({ url, org: 'city', bucket: 'env', token: 't0k', client: 'http' }),
    auth: 'Token t0k',
    refusal: `{"code":"invalid","message":"partial write has occurred: unable to parse 'x y': invalid field format"}`,
  },
  {
    name: 'v2 /api/v2/write over @influxdata/influxdb-client',
    endpoint: (url: string) => influxV2({ url, org: 'city', bucket: 'env', token: 't0k', client: 'influxdb-client' }),
    auth: 'Token t0k',
    refusal: `{"code":"invalid","message":"partial write has occurred: unable to parse 'x y': invalid field format"}`,
  },
];
const JSON_TYPE = { 'content-type': 'application/json' };

describe.each(TRANSPORTS)('$name', (tr) => {
  it('retries 5xx with doubling backoff up to its cap, sending the same batch, and settles it once', async () => {
    const statuses = [500, 502, 503, 500, 204];
    stub.reply = () => ({ status: statuses[stub.requests.length - 1]!, body: 'overloaded' });
    const sink = sinkOf(tr.endpoint(stub.url));
    const { t } = track(sink, lines('a', 3));
    const waits: number[] = [];
    for (let i = 1; i < statuses.length; i++) {
      await stub.nth(i);
      waits.push(sink.stats.retryInMs);
    }
    await sink.drain();
    expect(waits).toEqual([10, 20, 40, 40]);
    expect(new Set(stub.requests.map((r) => r.body))).toEqual(new Set([lines('a', 3).join('\n')]));
    expect(stub.requests.every((r) => r.headers.authorization === tr.auth)).toBe(true);
    expect(t).toMatchObject({ done: 1, reasons: [] });
    expect(sink.stats).toMatchObject({ retries: 4, written: 3, failing: false });
  });

  it("dead-letters a 400 with the server's reason, does not send it again, and writes on", async () => {
    stub.reply = () =>
      stub.requests.length === 1 ? { status: 400, body: tr.refusal, headers: JSON_TYPE } : { status: 204 };
    const sink = sinkOf(tr.endpoint(stub.url));
    const bad = track(sink, lines('bad', 2));
    await sink.drain();
    const good = track(sink, lines('good', 2));
    await sink.drain();
    expect(bad.t.reasons).toHaveLength(1);
    expect(bad.t.reasons[0]).toMatch(/^database refused the write: .*unable to parse 'x y': invalid field format/);
    expect(bad.t.done).toBe(1); // settled: the watermark passes it
    expect(good.t).toMatchObject({ done: 1, reasons: [] });
    expect(stub.requests.map((r) => r.body)).toEqual([lines('bad', 2).join('\n'), lines('good', 2).join('\n')]);
  });

  it('keeps retrying a 400 that is about the request, not its lines (a wrong path): nothing is dead-lettered', async () => {
    const answers: Reply[] = [{ status: 400, body: 'unsupported path requested: "/wrong/write"' }, { status: 204 }];
    stub.reply = () => answers[stub.requests.length - 1]!;
    const sink = sinkOf(tr.endpoint(stub.url));
    const { t } = track(sink, lines('a', 2));
    await stub.nth(1);
    expect(sink.stats.lastError).toMatch(
      /^HTTP 400 unsupported path.* \(the server refused the request itself, not a line/,
    );
    await sink.drain();
    expect(t).toMatchObject({ done: 1, reasons: [] });
    expect(sink.stats).toMatchObject({ rejected: 0, written: 2 });
  });

  it('says what to check on 401 and 403, and keeps trying until the server takes the batch', async () => {
    const answers: Reply[] = [
      { status: 401, body: '{"code":"unauthorized","message":"unauthorized access"}', headers: JSON_TYPE },
      { status: 403, body: 'forbidden' },
      { status: 204 },
    ];
    stub.reply = () => answers[stub.requests.length - 1]!;
    const sink = sinkOf(tr.endpoint(stub.url));
    const { t } = track(sink, lines('a', 1));
    await stub.nth(1);
    expect(sink.stats.lastError).toMatch(
      /^HTTP 401 .*unauthorized access.* \(check the database credentials or token\)$/,
    );
    await stub.nth(2);
    expect(sink.stats.lastError).toBe('HTTP 403 forbidden (check the database credentials or token)');
    await sink.drain();
    expect(t).toMatchObject({ done: 1, reasons: [] });
  });

  it('waits as long as Retry-After asks on 429 and 503, not on other failures', async () => {
    const answers: Reply[] = [
      { status: 500, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 204 },
    ];
    stub.reply = () => answers[stub.requests.length - 1]!;
    const sink = sinkOf(tr.endpoint(stub.url));
    const { t } = track(sink, lines('a', 1));
    await stub.nth(1);
    expect(sink.stats.retryInMs).toBe(10);
    await stub.nth(2);
    expect(sink.stats.retryInMs).toBe(1000);
    await sink.drain();
    expect(t.done).toBe(1);
  });

  it('gives up a request that outlasts requestTimeoutMs and sends the batch again', async () => {
    stub.reply = () => (stub.requests.length === 1 ? 'hold' : { status: 204 });
    const sink = sinkOf(tr.endpoint(stub.url), { requestTimeoutMs: 100 });
    const { t } = track(sink, lines('a', 2));
    const [first, second] = [await stub.nth(0), await stub.nth(1)];
    expect(sink.stats.lastError).toMatch(/timeout/i);
    expect(second.body).toBe(first.body);
    await sink.drain();
    expect(t).toMatchObject({ done: 1, reasons: [] });
    expect(sink.stats.written).toBe(2);
  });
});

describe('a 404', () => {
  it('v1: creates the missing database once for every batch that met it, then writes', async () => {
    stub.reply = () => 'hold';
    const sink = sinkOf(influxV1({ url: stub.url, db: 'db' }), { batchLines: 2 });
    const a = track(sink, lines('a', 2));
    const b = track(sink, lines('b', 2));
    const notFound = { status: 404, body: '{"error":"database not found: \\"db\\""}', headers: JSON_TYPE };
    for (const r of [await stub.nth(0), await stub.nth(1)]) stub.answer(r, notFound);
    const create = await stub.nth(2);
    expect(new URLSearchParams(create.path.split('?')[1]).get('q')).toBe('CREATE DATABASE "db"');
    stub.answer(create, { status: 200, body: '{"results":[{"statement_id":0}]}', headers: JSON_TYPE });
    // Both batches come again at once (no backoff after a creation), and neither creates it again.
    const again = [await stub.nth(3), await stub.nth(4)];
    expect(again.map((r) => r.path.split('?')[0])).toEqual(['/write', '/write']);
    again.forEach((r) => stub.answer(r));
    await sink.drain();
    expect([a.t.done, b.t.done]).toEqual([1, 1]);
    expect(stub.requests).toHaveLength(5);
  });

  it.each(TRANSPORTS.slice(1))(
    '$name: says once how to create the bucket, waits, and writes once it exists',
    async (tr) => {
      let exists = false;
      stub.reply = () =>
        exists
          ? { status: 204 }
          : { status: 404, body: '{"code":"not found","message":"bucket \\"env\\" not found"}', headers: JSON_TYPE };
      const endpoint = tr.endpoint(stub.url);
      const sink = sinkOf(endpoint);
      const { t } = track(sink, lines('a', 1));
      await stub.nth(3);
      expect(sink.stats.lastError).toMatch(/bucket \\?"env\\?" not found/);
      expect(sink.stats.lastError).toContain(`(${endpoint.missing!.howTo})`);
      expect(logs.filter((l) => l.includes('influx bucket create --name env --org city'))).toHaveLength(1);
      expect(t.done).toBe(0);
      exists = true;
      await sink.drain();
      expect(t).toMatchObject({ done: 1, reasons: [] });
    },
  );

  it('from an endpoint that cannot say what is missing: asks whether the database exists', async () => {
    stub.reply = () => (stub.requests.length === 1 ? { status: 404, body: 'not found' } : { status: 204 });
    const url = `${stub.url}/write?db=x`;
    const sink = sinkOf({ url, headers: {}, describe: 'bare' });
    track(sink, lines('a', 1));
    await stub.nth(1);
    expect(sink.stats.lastError).toBe('HTTP 404 not found (does the database or bucket exist?)');
  });
});

describe('@influxdata/influxdb-client transport', () => {
  it('gzips a batch bigger than 1000 bytes, and sends a small one as it is', async () => {
    const sink = sinkOf(TRANSPORTS[2]!.endpoint(stub.url), { batchLines: 100 });
    track(sink, lines('big', 100));
    await sink.drain();
    track(sink, lines('small', 1));
    await sink.drain();
    expect(stub.requests.map((r) => r.headers['content-encoding'])).toEqual(['gzip', undefined]);
    expect(stub.requests.map((r) => r.body)).toEqual([lines('big', 100).join('\n'), lines('small', 1).join('\n')]);
  });
});

describe('the sink', () => {
  const v1 = () => influxV1({ url: stub.url, db: 'db' });

  it.each([1, 2, 3])('keeps at most %i batches on the wire', async (concurrency) => {
    stub.reply = () => 'hold';
    // Counted where the sink posts, so a request on its way counts before the server sees it.
    let open = 0;
    let most = 0;
    const post = httpPost(v1(), concurrency);
    const sink = sinkOf(
      {
        ...v1(),
        post: async (body, signal) => {
          most = Math.max(most, ++open);
          return post(body, signal).finally(() => open--);
        },
      },
      { concurrency, batchLines: 1 },
    );
    const { t } = track(sink, lines('a', 6));
    for (let answered = 0; answered < 6; answered++) {
      await stub.nth(Math.min(5, answered + concurrency - 1));
      const full = Math.min(concurrency, 6 - answered);
      await waitFor(`${full} in flight`, () => sink.requestsInFlight === full && stub.held().length === full, 5_000);
      stub.answer(stub.held()[0]!);
    }
    await sink.drain();
    expect(most).toBe(concurrency);
    // Cut in write order; concurrent batches may reach the server in any order.
    expect(stub.requests.map((r) => r.body).sort()).toEqual(lines('a', 6));
    expect(t.done).toBe(1);
  });

  it('sends bytes from line writers as written, whether they lie side by side or not, across batch edges', async () => {
    const sink = sinkOf(v1(), { concurrency: 1, batchLines: 7, flushMs: 10_000 });
    const all: string[] = [];
    let done = 0;
    for (let i = 0; i < 20; i++) {
      const w = new LineWriter(64, 2);
      const ls = lines(`w${i}`, 1 + (i % 4));
      for (const l of ls) w.text(l);
      all.push(...ls);
      await sink.writeBytes(w.done(), () => done++);
      // Now and then a write from elsewhere in memory, between writers' neighbouring bytes.
      if (i % 6 === 5) {
        const other = lines(`s${i}`, 2);
        all.push(...other);
        await sink.write(other, () => done++);
      }
    }
    await sink.drain();
    expect(stub.requests.flatMap((r) => r.body.split('\n'))).toEqual(all);
    expect(stub.requests.slice(0, -1).every((r) => r.body.split('\n').length === 7)).toBe(true);
    expect(done).toBe(23);
  });

  it('settles the writes of a batch in write order, and of different batches as their batches complete', async () => {
    stub.reply = () => 'hold';
    // No timer flushes: batches are cut by size only.
    const sink = sinkOf(v1(), { concurrency: 2, batchLines: 2, flushMs: 60_000 });
    const order: string[] = [];
    const write = (tag: string, n: number) => sink.write(lines(tag, n), () => order.push(tag));
    await write('a', 1);
    await write('b', 1); // a and b fill batch 0
    await write('c', 3); // batch 1 holds two lines of c, batch 2 the third
    const b0 = await stub.carrying([...lines('a', 1), ...lines('b', 1)]);
    const b1 = await stub.carrying(lines('c', 3).slice(0, 2));
    stub.answer(b1);
    const b2 = await stub.carrying(lines('c', 3).slice(2));
    expect(order).toEqual([]); // c has a line still on the wire
    stub.answer(b2);
    await waitFor('c settled', () => order.length === 1, 5_000);
    stub.answer(b0);
    await sink.drain();
    expect(order).toEqual(['c', 'a', 'b']);
  });

  it('lets writers waiting for room in, in write order, once there is room for each; none is lost', async () => {
    stub.reply = () => 'hold';
    const sink = sinkOf(v1(), { maxBufferLines: 4, batchLines: 4, concurrency: 1 });
    const a = track(sink, lines('a', 4));
    await a.admitted;
    const admitted: string[] = [];
    const writers = (
      [
        ['b', 3],
        ['c', 2],
        ['d', 1],
      ] as const
    ).map(([tag, n]) => track(sink, lines(tag, n)).admitted.then(() => admitted.push(tag)));
    stub.answer(await stub.nth(0)); // a stored: room for b (3 of 4), not yet for c, so d waits behind c
    await stub.nth(1);
    expect(admitted).toEqual(['b']);
    expect(sink.bufferedLines).toBe(3);
    stub.answer(stub.held()[0]!); // b stored: c and d both fit
    await Promise.all(writers);
    expect(admitted).toEqual(['b', 'c', 'd']);
    stub.reply = () => ({ status: 204 });
    stub.held().forEach((r) => stub.answer(r));
    await sink.drain();
    // A write bigger than the whole buffer goes in alone once the buffer is empty.
    const big = track(sink, lines('e', 10));
    await big.admitted;
    await sink.drain();
    const sent = stub.requests.flatMap((r) => r.body.split('\n'));
    expect(sent).toEqual([...lines('a', 4), ...lines('b', 3), ...lines('c', 2), ...lines('d', 1), ...lines('e', 10)]);
    expect(big.t.done).toBe(1);
  });

  it('closed while a batch is failing: settles nothing and dead-letters nothing', async () => {
    stub.reply = () => ({ status: 503 });
    const sink = sinkOf(v1());
    const { t } = track(sink, lines('a', 2));
    await stub.nth(1);
    sink.close();
    await waitFor('the batch given up', () => sink.requestsInFlight === 0, 5_000);
    expect(t).toMatchObject({ done: 0, reasons: [] });
  });
});

it('reads Retry-After as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-15T03:00:00Z');
  expect(parseRetryAfter('1', now)).toBe(1000);
  expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  expect(parseRetryAfter('Thu, 15 Jan 2026 03:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Thu, 15 Jan 2026 02:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(null, now)).toBeUndefined();
});
