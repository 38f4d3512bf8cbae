// Ingest on its own against a real broker and influxd: validation, dead-lettering, watermarks,
// and backpressure when the database is away.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { Influxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait.ts';
import { createIngest, type IngestOptions } from '../../ingest/from-options.ts';
import type { IngestWorker } from '../../ingest/worker.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { decodeAckMessage, type Refusal } from '../../protocol/envelope.ts';
import { decodeDeadLetter } from '../../protocol/messages.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-ingest-'));
const influx = new Influxd(join(dir, 'influxdb'));
const t = new Topics();
let broker: Broker;
let worker: IngestWorker;
let gw: MqttClient;
let op: MqttClient;
const acks: { ep: string; seq: number }[] = [];
const dlq: { reason: string; gw: string }[] = [];
const refusals: Refusal[] = [];

const BASE = Date.now() - 120_000;
const rec = (i: number, m: Record<string, unknown> = { pm25: 10 + i }, dev = 'aq-9') => ({
  dev,
  kind: 'air.micro',
  ts: BASE + i,
  m,
});

const workerOptions = (mqttUrl: string): IngestOptions => ({
  mqttUrl,
  username: 'ingest',
  password: PASSWORDS.ingest,
  index: 0,
  workers: 1,
  prefix: 'env/v1',
  shards: 16,
  influxUrl: influx.url,
  api: 'v1',
  db: 'qingcheng',
  org: '',
  bucket: '',
  sink: { flushMs: 50, maxBufferLines: 50, batchLines: 20 },
});

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-dlq']) }).start();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  worker = await createIngest(workerOptions(url)).start();
  op = await mqtt.connectAsync(url, { username: 'operator', password: PASSWORDS.operator });
  op.on('message', (topic, p) => {
    if (topic === t.ack('gw-dlq')) {
      const m = decodeAckMessage(p);
      if ('ack' in m) acks.push(m.ack);
      else if ('refused' in m) refusals.push(m.refused);
    }
    if (topic === t.dlq('gw-dlq')) dlq.push(decodeDeadLetter(p));
  });
  await op.subscribeAsync([t.ack('gw-dlq'), t.dlq('gw-dlq')], { qos: 1 });
  gw = await mqtt.connectAsync(url, { clientId: 'gw-dlq', username: 'gw-dlq', password: PASSWORDS.gateway });
});
afterAll(async () => {
  gw.end(true);
  op.end(true);
  await worker.stop();
  await broker.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const publish = (body: unknown) =>
  gw.publishAsync(t.up('gw-dlq'), typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

describe('ingest', () => {
  it('dead-letters a bad record with its reason, writes its good neighbours, and moves the watermark past it', async () => {
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e1', seq: 0, records: [rec(0), rec(1, { pm25: 'high' }), rec(2)] });
    await waitFor('the acknowledgement', () => acks.some((a) => a.ep === 'e1' && a.seq === 2), 10_000);
    expect(dlq[0]!.reason).toBe('seq 1: records[1].m.pm25: expected a number, got string');
    const rows = await influx.rows(`SELECT pm25, seq FROM air WHERE dev = 'aq-9'`);
    expect(rows.map((r) => r.seq)).toEqual([0, 2]);
  });

  it('dead-letters what is not an envelope, and keeps going', async () => {
    await publish('{"v":1,');
    await publish({ v: 2, gw: 'gw-dlq' });
    await publish({ v: 1, gw: 'gw-other', ep: 'e1', seq: 3, records: [rec(3)] });
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e1', seq: 3, records: [rec(3)] });
    await waitFor('the acknowledgement of seq 3', () => acks.some((a) => a.seq === 3), 10_000);
    expect(dlq.slice(1).map((d) => d.reason)).toEqual([
      expect.stringMatching(/^envelope: not JSON/),
      'v: unknown version 2, expected 1',
      'gw: gateway gw-other published on the topic of gateway gw-dlq',
    ]);
    // Nothing of those was settled: the gateway is told why on its ack topic, with the seqs when the envelope said.
    expect(refusals.map(({ t: _, ...r }) => r)).toEqual([
      { reason: expect.stringMatching(/^envelope: not JSON/) },
      { reason: 'v: unknown version 2, expected 1' },
      { reason: 'gw: gateway gw-other published on the topic of gateway gw-dlq', ep: 'e1', from: 3, to: 3 },
    ]);
  });

  it('holds back its watermark over a hole, and passes an announced gap', async () => {
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e1', seq: 10, records: [rec(10)] });
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e1', seq: 4, records: [rec(4)] });
    await waitFor('seq 4', () => acks.some((a) => a.seq === 4), 10_000);
    expect(worker.watermarks.pending('gw-dlq')).toEqual([[10, 10]]);
    await publish({
      v: 1,
      gw: 'gw-dlq',
      ep: 'e1',
      seq: 11,
      records: [rec(11)],
      gap: [
        [0, 4],
        [5, 9],
      ],
    });
    await waitFor('seq 11', () => acks.some((a) => a.seq === 11), 10_000);
  });

  it('stops reading the broker while the database is down, and catches up without loss', async () => {
    await influx.stop();
    const n = 200;
    for (let i = 0; i < n; i++)
      await publish({ v: 1, gw: 'gw-dlq', ep: 'e2', seq: i, records: [rec(i, { pm25: i }, 'aq-bp')] });
    // The buffer holds 50 lines; the rest wait in the broker for the worker's session.
    await waitFor('the sink to fill', () => worker.o.sink.bufferedLines >= 50, 10_000);
    expect(worker.o.sink.bufferedLines).toBeLessThanOrEqual(50);
    expect(worker.stats.envelopes).toBeLessThan(5 + n);
    await influx.start();
    await waitFor('every record acknowledged', () => acks.some((a) => a.ep === 'e2' && a.seq === n - 1), 30_000);
    const rows = await influx.rows(`SELECT count(pm25) FROM air WHERE dev = 'aq-bp'`);
    expect(Number(rows[0]!.count)).toBe(n);
  });

  it("writes each device-hour's data-capture rate, and goes on counting the open hour after a restart", async () => {
    const T = Date.UTC(2025, 5, 15, 2); // 10:00 Beijing, pinned before every date the suite runs on
    const at = (ts: number) => ({ dev: 'aq-cap', kind: 'air.micro', ts, m: { pm25: 20 } });
    // A 20-minute outage in the first hour (no sample 10:20–10:39), then the first minute of the next.
    const first = Array.from({ length: 60 }, (_, m) => m)
      .filter((m) => m < 20 || m >= 40)
      .map((m) => at(T + m * 60_000 + 30_000));
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e3', seq: 0, records: [...first, at(T + 3_600_000)] });
    await waitFor('the acknowledgement', () => acks.some((a) => a.ep === 'e3' && a.seq === 40), 10_000);
    const hour = async (ts: number) =>
      (
        await influx.rows(
          `SELECT got, rate, valid, closed, gaps FROM capture WHERE dev = 'aq-cap' AND period = 'hour' AND time = ${ts}ms`,
        )
      )[0];
    expect(await hour(T)).toMatchObject({ got: 40, rate: 0.667, valid: false, closed: true, gaps: '10:20-10:39' });
    expect(await hour(T + 3_600_000)).toMatchObject({ got: 1, closed: false });

    // A new worker reads the open hour's minutes back: its next minute makes two, not one.
    await worker.stop();
    worker = await createIngest(workerOptions(`mqtt://127.0.0.1:${broker.port}`)).start();
    expect(worker.restored.capture_hours).toBeGreaterThanOrEqual(2);
    await publish({ v: 1, gw: 'gw-dlq', ep: 'e3', seq: 41, records: [at(T + 3_660_000)] });
    await waitFor('the acknowledgement', () => acks.some((a) => a.ep === 'e3' && a.seq === 41), 10_000);
    expect(await hour(T + 3_600_000)).toMatchObject({ got: 2, closed: false });
  });
});
