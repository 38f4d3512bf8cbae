// Ingest pointed at a server without its database: a real InfluxDB 1.x gets the database created (said
// once) and the records written; an /api/v2/write server without the bucket gets one line saying how to
// create it, not a line per retry.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Influxd } from '../helpers/influxd.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-nodb-'));
const pipelines: Pipeline[] = [];
const influx = new Influxd(join(dir, 'influxdb'), 'qingcheng', { createDatabase: false });
afterAll(async () => {
  for (const p of pipelines) await p.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (output: string, text: string) => output.split('\n').filter((l) => l.includes(text));

it('creates a missing InfluxDB 1.x database, says so once, and writes into it', async () => {
  await influx.start();
  const databases = async () => (await influx.query('SHOW DATABASES')).results[0]?.series?.[0]?.values?.flat() ?? [];
  expect(await databases()).not.toContain('qingcheng');
  const p = new Pipeline({ sinkArgs: ['--influx-url', influx.url, '--db', 'qingcheng'] });
  p.influx = influx; // counted through, and stopped with, the pipeline
  pipelines.push(p);
  await p.start();
  await p.waitForRecords(20);
  expect(await databases()).toContain('qingcheng');
  const out = p.ingest!.output;
  expect(lines(out, '"msg":"the database did not exist: created it"')).toHaveLength(1);
  expect(lines(out, 'database write failed')).toEqual([]);
  expect(lines(out, 'cannot restore')).toEqual([]); // a database that does not exist yet has nothing to restore
});

it('says once how to create a missing /api/v2/write bucket while it keeps retrying', async () => {
  // InfluxDB 2.x's answer to a write into a bucket it lacks (no 2.x server is on the test machine).
  let writes = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/api/v2/write')) writes++;
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"code":"not found","message":"bucket \\"env\\" not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const p = new Pipeline({
    sinkArgs: ['--api', 'v2', '--influx-url', url, '--org', 'city', '--bucket', 'env', '--token', 't'],
  });
  pipelines.push(p);
  try {
    await p.start();
    // First write, then retries after 0.25, 0.5, 1 and 2 s of backoff.
    await waitFor('five write attempts', () => writes >= 5, 30_000);
    const out = p.ingest!.output;
    const said = lines(out, 'influx bucket create --name env --org city');
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('"level":"error"');
    expect(said[0]).toContain(`POST ${url}/api/v2/buckets`);
    expect(lines(out, 'database write failed')).toEqual([]);
  } finally {
    // Stopping drains what ingest holds, which cannot happen here.
    await p.ingest?.kill('SIGKILL');
    await p.stop();
    pipelines.pop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
