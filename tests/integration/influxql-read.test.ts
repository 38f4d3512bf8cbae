// Restore reads against a real InfluxDB 1.x: the InfluxQL /query of each endpoint, the v2 one through
// @influxdata/influxdb-client's transport (influxd serves /query for the bucket's name as a database).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { influxV1 } from '../../ingest/sinks/influx-v1.ts';
import { influxV2 } from '../../ingest/sinks/influx-v2.ts';
import { InfluxQL } from '../../ingest/sinks/influxql.ts';
import { Influxd } from '../helpers/influxd.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-influxql-'));
const influx = new Influxd(join(dir, 'influxdb'), 'env');
const T0 = Date.UTC(2025, 5, 1); // pinned
beforeAll(async () => {
  await influx.start();
  const lines = [0, 1, 2].map((i) => `air,dev=aq-1 pm25=${10 + i} ${(T0 + i * 60_000) * 1e6}`).join('\n');
  const res = await fetch(`${influx.url}/write?db=env`, { method: 'POST', body: lines });
  expect(res.status).toBe(204);
});
afterAll(async () => {
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

it.each([
  ['v1 /query over fetch', () => influxV1({ url: influx.url, db: 'env' })],
  [
    'v2 --v2-client http (reads over fetch)',
    () => influxV2({ url: influx.url, org: 'city', bucket: 'env', client: 'http' }),
  ],
  ['v2 over @influxdata/influxdb-client', () => influxV2({ url: influx.url, org: 'city', bucket: 'env' })],
])('%s reads back what was written, within explicit bounds', async (_name, endpoint) => {
  const q = `SELECT pm25 FROM air WHERE time >= ${T0}ms AND time < ${T0 + 3_600_000}ms`;
  const series = await new InfluxQL(endpoint()).all(q);
  expect(series.map((s) => s.values)).toEqual([
    [
      [T0, 10],
      [T0 + 60_000, 11],
      [T0 + 120_000, 12],
    ],
  ]);
  await expect(new InfluxQL(endpoint()).all('SELECT pm25 FROM nowhere.air')).rejects.toThrow(
    /retention policy not found: nowhere/,
  );
});
