// The sink contract (tests/helpers/sink-contract.ts) against real servers: InfluxDB 1.x /write on influxd,
// and /api/v2/write on VictoriaMetrics posted with fetch and with @influxdata/influxdb-client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { influxV1 } from '../../ingest/sinks/influx-v1.ts';
import { influxV2 } from '../../ingest/sinks/influx-v2.ts';
import { Influxd } from '../helpers/influxd.ts';
import { influxdTarget, sinkContract, VictoriaMetricsServer, victoriaMetricsTarget } from '../helpers/sink-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-sink-contract-'));
const influxd = new Influxd(join(dir, 'influxdb'), 'contract');
const vm = new VictoriaMetricsServer(join(dir, 'victoria-metrics'));
beforeAll(() => Promise.all([influxd.start(), vm.start()]));
afterAll(async () => {
  await Promise.all([influxd.stop(), vm.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

sinkContract('InfluxDB 1.x /write (influxd)', () => influxdTarget(influxd, (url, db) => influxV1({ url, db })));
// influxd 1.x has no /api/v2/write: it gives the v2 sinks a real 404.
for (const client of ['http', 'influxdb-client'] as const)
  sinkContract(`/api/v2/write over ${client} (VictoriaMetrics)`, () =>
    victoriaMetricsTarget(
      vm,
      (url) => influxV2({ url, org: 'city', bucket: 'env', token: 'not-checked', client }),
      () => influxd.url,
    ),
  );
