// /metrics on real processes: a healthy pipeline's numbers agree with InfluxDB and read zero where nothing
// went wrong; a wrong password shows up in the broker's refusals. Every child serves on port 0 and says
// where in its --ready-file, written once it listens: nothing is slept for or guessed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { addUser } from '../../broker/users.ts';
import { Metrics, serveMetrics } from '../../protocol/metrics.ts';
import { PASSWORDS, Pipeline, Proc } from '../helpers/pipeline.ts';
import { readyOf } from '../helpers/ready-file.ts';

/** Samples of a scrape by name and labels as written, e.g. `qingcheng_broker_refusals_total{kind="rate"}`. */
type Scrape = Map<string, number>;

async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const out: Scrape = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Every sample of `name` (any labels). */
const samples = (s: Scrape, name: string) => [...s].filter(([k]) => k === name || k.startsWith(`${name}{`));

/** One sample; a missing one fails with what was there. */
function get(s: Scrape, key: string): number {
  const v = s.get(key);
  if (v === undefined)
    throw new Error(`no ${key} in the scrape:\n${[...s.keys()].filter((k) => k.startsWith('qingcheng_')).join('\n')}`);
  return v;
}

/** The pipeline with the gateway child serving /metrics on a port it reports in `gatewayReady`. */
class MeteredPipeline extends Pipeline {
  readonly gatewayReady = join(this.dir, 'gateway.ready.json');
  override startGateway(): Proc {
    this.gateway = new Proc('gateway', [
      'gateway',
      ...['--config', this.gwConfig, '--metrics-port', '0', '--ready-file', this.gatewayReady],
    ]);
    return this.gateway;
  }
}

/** The metrics port a child wrote in its ready file. */
const metricsPortOf = async (proc: Proc, file: string) => (await readyOf(proc, file)).ports.metrics!;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('metrics', () => {
  it('a healthy pipeline: records acknowledged = records in InfluxDB = records sampled, and no refusal, dead letter or retry', async () => {
    const readyDir = mkdtempSync(join(tmpdir(), 'qingcheng-metrics-'));
    cleanups.push(() => rmSync(readyDir, { recursive: true, force: true }));
    const ingestReady = join(readyDir, 'ingest.ready.json');
    const p = new MeteredPipeline({ ingestArgs: ['--metrics-port', '0', '--ready-file', ingestReady] });
    cleanups.push(() => p.stop());
    await p.start();
    // The broker runs in this process here: its metrics are served the way `qingcheng broker` serves them.
    const broker = await serveMetrics(new Metrics().addBroker(p.broker), 0);
    cleanups.push(() => broker.close());
    const ingestPort = await metricsPortOf(p.ingest!, ingestReady);
    const gatewayPort = await metricsPortOf(p.gateway!, p.gatewayReady);
    await p.waitForRecords(20);
    const { nextSeq } = await p.drain();
    const gw = `gateway="${p.gwId}"`;
    // The gateway heard every acknowledgement (drain); ingest acknowledged before it sent them.
    const ingest = await scrape(ingestPort);
    const worker = [...ingest.keys()].find((k) => k.startsWith('qingcheng_ingest_acked_records{'))!;
    const wk = worker.slice(worker.indexOf('{') + 1, worker.indexOf(','));
    const inDb = await p.count();
    expect(get(ingest, `qingcheng_ingest_acked_records{${wk},${gw}}`)).toBe(nextSeq);
    expect(inDb).toBe(nextSeq);
    expect(get(ingest, `qingcheng_ingest_unacked_records{${wk},${gw}}`)).toBe(0);
    expect(get(ingest, `qingcheng_ingest_lines_written_total{${wk}}`)).toBeGreaterThanOrEqual(inDb);
    expect(get(ingest, `qingcheng_ingest_write_seconds_count{${wk},outcome="written"}`)).toBe(
      get(ingest, `qingcheng_ingest_batches_written_total{${wk}}`),
    );
    expect(get(ingest, `qingcheng_ingest_write_retries_total{${wk}}`)).toBe(0);
    expect(get(ingest, `qingcheng_ingest_buffered_lines{${wk}}`)).toBe(0);
    expect(get(ingest, `qingcheng_ingest_connected{${wk}}`)).toBe(1);
    for (const reason of ['envelope', 'record', 'database'])
      expect(get(ingest, `qingcheng_ingest_dead_letters_total{${wk},reason="${reason}"}`)).toBe(0);

    const gateway = await scrape(gatewayPort);
    expect(get(gateway, `qingcheng_gateway_records_sampled_total{${gw}}`)).toBe(nextSeq);
    expect(get(gateway, `qingcheng_gateway_records_published_total{${gw}}`)).toBeGreaterThanOrEqual(nextSeq);
    expect(get(gateway, `qingcheng_gateway_unacked_records{${gw}}`)).toBe(0);
    expect(get(gateway, `qingcheng_gateway_outbox_records{${gw}}`)).toBe(0);
    expect(get(gateway, `qingcheng_gateway_outbox_evicted_total{${gw}}`)).toBe(0);
    expect(get(gateway, `qingcheng_gateway_uplink_errors_total{${gw}}`)).toBe(0);
    expect(samples(gateway, 'qingcheng_gateway_modbus_requests_total').length).toBeGreaterThan(0);

    const b = await scrape(broker.port);
    const refusals = samples(b, 'qingcheng_broker_refusals_total');
    expect(refusals.map(([k]) => k)).toContain('qingcheng_broker_refusals_total{kind="bad_login"}');
    expect(refusals.filter(([, v]) => v !== 0)).toEqual([]);
    // the watcher, ingest (and its alarm read-back), the gateway
    expect(get(b, 'qingcheng_broker_connections_total')).toBeGreaterThanOrEqual(3);
    expect(get(b, 'qingcheng_broker_clients')).toBeGreaterThanOrEqual(3);
  });

  it('`qingcheng broker --metrics-port` counts a wrong password as a bad_login refusal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qingcheng-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const users = join(dir, 'users.yaml');
    await addUser(users, 'operator', 'operator', PASSWORDS.operator);
    const file = join(dir, 'broker.ready.json');
    const proc = new Proc('broker', [
      'broker',
      ...['--host', '127.0.0.1', '--port', '0', '--health-port', '0'],
      ...['--metrics-port', '0', '--users', users, '--ready-file', file],
    ]);
    cleanups.push(() => proc.kill());
    const { ports } = await readyOf(proc, file);
    const [mqttPort, metricsPort] = [ports.mqtt!, ports.metrics!];
    const before = await scrape(metricsPort);
    expect(get(before, 'qingcheng_broker_refusals_total{kind="bad_login"}')).toBe(0);

    const refused = await connectOnce(mqttPort, 'wrong');
    expect(refused).toMatch(/Bad username or password/i);
    const after = await scrape(metricsPort);
    expect(get(after, 'qingcheng_broker_refusals_total{kind="bad_login"}')).toBe(1);
    expect(get(after, 'qingcheng_broker_connections_total')).toBe(0);

    expect(await connectOnce(mqttPort, PASSWORDS.operator)).toBe('connected');
    const last = await scrape(metricsPort);
    expect(get(last, 'qingcheng_broker_connections_total')).toBe(1);
    expect(get(last, 'qingcheng_broker_refusals_total{kind="bad_login"}')).toBe(1);
  });
});

/** Logs in as the operator once: 'connected', or the refusal's message. */
function connectOnce(port: number, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      username: 'operator',
      password,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const end = (outcome: string) => {
      c.end(true);
      resolve(outcome);
    };
    c.once('connect', () => end('connected'));
    c.once('error', (e) => end(e.message));
    c.once('close', () => end('closed before CONNACK'));
  });
}
