// Restore reads (InfluxQL /query) through each transport, against a local server that answers as the
// test says: the query and its credentials as sent, a chunked answer read line by line, an error answer
// turned into its reason.
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { influxV1 } from '../../ingest/sinks/influx-v1.ts';
import { influxV2 } from '../../ingest/sinks/influx-v2.ts';
import { InfluxQL } from '../../ingest/sinks/influxql.ts';

interface Seen {
  method: string;
  path: string;
  authorization?: string;
  userAgent?: string;
}

let seen: Seen[] = [];
let answer: { status: number; chunks: string[] } = { status: 200, chunks: [] };
const server = http.createServer((req, res) => {
  seen.push({
    method: req.method!,
    path: req.url!,
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    userAgent: req.headers['user-agent'] ?? '',
  });
  res.writeHead(answer.status, { 'content-type': 'application/json', connection: 'close' });
  // Each chunk written on its own, as a chunked answer streams.
  for (const c of answer.chunks) res.write(c);
  res.end();
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => {
  seen = [];
});

const TRANSPORTS = [
  { name: 'v1 over fetch', endpoint: () => influxV1({ url, db: 'env' }), authorization: undefined, agent: /^node$/ },
  {
    name: 'v2 --v2-client http (reads over fetch)',
    endpoint: () => influxV2({ url, org: 'city', bucket: 'env', token: 't0k', client: 'http' }),
    authorization: 'Token t0k',
    agent: /^node$/,
  },
  {
    name: 'v2 over @influxdata/influxdb-client',
    endpoint: () => influxV2({ url, org: 'city', bucket: 'env', token: 't0k', client: 'influxdb-client' }),
    authorization: 'Token t0k',
    agent: /^influxdb-client-js\//,
  },
];

describe.each(TRANSPORTS)('$name', (tr) => {
  it('sends the query with its credentials and reads a chunked answer, series split over chunks', async () => {
    const part = (values: number[][]) =>
      JSON.stringify({ results: [{ statement_id: 0, series: [{ name: 'air', columns: ['time', 'pm25'], values }] }] });
    const whole = `${part([[1, 10]])}\n${part([[2, 20]])}\n`;
    // The second document is cut in the middle: a line is whole only at its newline.
    answer = { status: 200, chunks: [whole.slice(0, 50), whole.slice(50, 130), whole.slice(130)] };
    const series = await new InfluxQL(tr.endpoint()).all('SELECT pm25 FROM air');
    expect(series).toEqual([
      {
        name: 'air',
        columns: ['time', 'pm25'],
        values: [
          [1, 10],
          [2, 20],
        ],
      },
    ]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('GET');
    const q = new URL(seen[0]!.path, url);
    expect(q.pathname).toBe('/query');
    expect(Object.fromEntries(q.searchParams)).toMatchObject({
      db: 'env',
      epoch: 'ms',
      chunked: 'true',
      q: 'SELECT pm25 FROM air',
    });
    expect(seen[0]!.authorization).toBe(tr.authorization);
    expect(seen[0]!.userAgent).toMatch(tr.agent); // the library's transport, or Node's fetch
  });

  it("rejects with the server's status and reason", async () => {
    answer = { status: 401, chunks: ['{"code":"unauthorized","message":"unauthorized access"}'] };
    await expect(new InfluxQL(tr.endpoint()).all('SHOW DATABASES')).rejects.toThrow(/^HTTP 401 .*unauthorized/);
  });

  it('rejects with the error an answer carries', async () => {
    answer = { status: 200, chunks: ['{"results":[{"statement_id":0,"error":"database not found: env"}]}\n'] };
    await expect(new InfluxQL(tr.endpoint()).all('SELECT * FROM air')).rejects.toThrow('database not found: env');
  });
});
