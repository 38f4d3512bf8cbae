// The metrics read each role's own counts at scrape time: what a scrape says is what `stats` says then.
import { describe, expect, it } from 'vitest';
import {
  Metrics,
  serveMetrics,
  type BrokerSource,
  type GatewaySource,
  type IngestSource,
} from '../../protocol/metrics.ts';

/** The value of one sample of a scrape, by name and labels as written, e.g. `{kind="rate"}`. */
function value(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const broker = (): BrokerSource & { stats: Record<string, number> } => ({
  clients: 2,
  stats: {
    connects: 3,
    refused: 0,
    deniedPublish: 0,
    deniedSubscribe: 0,
    deniedRetain: 0,
    oversizePackets: 0,
    malformedPackets: 0,
    refusedRate: 0,
    refusedClientId: 0,
    tooManySubscriptions: 0,
    longTopics: 0,
  },
});

const gateway = (id: string): GatewaySource => ({
  cfg: { id },
  stats: { sampled: 10, pollErrors: 0, skipped: 0 },
  outbox: { depth: 4, evicted: 0, next: 10, acked: 5 },
  uplink: { stats: { envelopes: 2, published: 10, republished: 1, acks: 2, errors: 0, refused: 0 } },
  inputs: [
    {
      cfg: { name: 'hj212-loggers', type: 'hj212' },
      stats: { connections: 1, frames: 5, accepted: 4, rejected: 1, garbage: 2, ignored: 0 },
      history: { totals: { requested: 3, received: 40, timedOut: 1, done: 2, failed: 0 } },
    },
  ],
  modbusLinks: [{ cfg: { name: 'rs485-1' }, stats: { requests: 7, errors: 1, timeouts: 1, reconnects: 1 } }],
});

/** Marks of one gateway: watermark `seq` and the ranges above it. */
const marks = (seq: number, ranges: [number, number][] = [], ep = 'e1') => ({
  get: () => ({ ep, seq }),
  pending: () => ranges,
});

const worker = (): IngestSource => ({
  name: 'ingest-0-of-1',
  stats: { envelopes: 3, records: 30, rejectedEnvelopes: 0, rejectedRecords: 0, acks: 2 },
  connected: () => true,
  gateways: () => ['gw-a'],
  acked: marks(19),
  received: marks(24, [[30, 31]]),
  sink: { stats: { written: 25, batches: 2, retries: 0, rejected: 0, failing: false }, bufferedLines: 5 },
});

describe('metrics', () => {
  it('reads the broker counts at each scrape, every refusal kind present at zero', async () => {
    const b = broker();
    const m = new Metrics().addBroker(b);
    let text = await m.scrape();
    expect(value(text, 'qingcheng_broker_connections_total')).toBe(3);
    expect(value(text, 'qingcheng_broker_clients')).toBe(2);
    for (const kind of ['bad_login', 'oversize_packet', 'rate', 'denied_publish', 'denied_subscribe'])
      expect(value(text, 'qingcheng_broker_refusals_total', `{kind="${kind}"}`)).toBe(0);
    b.stats.refused = 2;
    text = await m.scrape();
    expect(value(text, 'qingcheng_broker_refusals_total', '{kind="bad_login"}')).toBe(2);
  });

  it('labels each gateway and link, and the lag is next_seq - 1 - acked', async () => {
    const text = await new Metrics().addGateway(gateway('gw-a')).addGateway(gateway('gw-b')).scrape();
    for (const gw of ['gw-a', 'gw-b']) {
      expect(value(text, 'qingcheng_gateway_records_published_total', `{gateway="${gw}"}`)).toBe(10);
      expect(value(text, 'qingcheng_gateway_unacked_records', `{gateway="${gw}"}`)).toBe(4);
      expect(value(text, 'qingcheng_gateway_outbox_records', `{gateway="${gw}"}`)).toBe(4);
    }
    const link = '{gateway="gw-a",link="hj212-loggers"';
    expect(value(text, 'qingcheng_gateway_hj212_frames_total', `${link},outcome="accepted"}`)).toBe(4);
    expect(value(text, 'qingcheng_gateway_hj212_frames_total', `${link},outcome="rejected"}`)).toBe(1);
    expect(value(text, 'qingcheng_gateway_hj212_garbage_total', `${link}}`)).toBe(2);
    expect(value(text, 'qingcheng_gateway_hj212_history_total', `${link},outcome="received"}`)).toBe(40);
    expect(value(text, 'qingcheng_gateway_hj212_history_total', `${link},outcome="timed_out"}`)).toBe(1);
    expect(value(text, 'qingcheng_gateway_modbus_timeouts_total', '{gateway="gw-a",link="rs485-1"}')).toBe(1);
  });

  it('reads the watermarks, dead letters by class, and times batches through the sink hook', async () => {
    const w = worker();
    const m = new Metrics().addIngest(w);
    w.sink.onBatch!(20, true);
    w.sink.onBatch!(3000, false);
    const text = await m.scrape();
    const wk = '{worker="ingest-0-of-1"';
    expect(value(text, 'qingcheng_ingest_acked_records', `${wk},gateway="gw-a"}`)).toBe(20);
    // received up to 31 (a range above a hole), acknowledged up to 19
    expect(value(text, 'qingcheng_ingest_unacked_records', `${wk},gateway="gw-a"}`)).toBe(12);
    expect(value(text, 'qingcheng_ingest_lines_written_total', `${wk}}`)).toBe(25);
    for (const reason of ['envelope', 'record', 'database'])
      expect(value(text, 'qingcheng_ingest_dead_letters_total', `${wk},reason="${reason}"}`)).toBe(0);
    expect(value(text, 'qingcheng_ingest_write_seconds_count', `${wk},outcome="written"}`)).toBe(1);
    expect(
      value(text, 'qingcheng_ingest_write_seconds_bucket', `{le="0.025",worker="ingest-0-of-1",outcome="written"}`),
    ).toBe(1);
    expect(value(text, 'qingcheng_ingest_write_seconds_count', `${wk},outcome="refused"}`)).toBe(1);
  });

  it('a new epoch at ingest counts everything received in it as unacknowledged', async () => {
    const w = { ...worker(), acked: marks(100, [], 'old'), received: marks(9, [], 'new') };
    const text = await new Metrics().addIngest(w).scrape();
    expect(value(text, 'qingcheng_ingest_unacked_records', '{worker="ingest-0-of-1",gateway="gw-a"}')).toBe(10);
  });

  it('serves GET /metrics, and 404 elsewhere', async () => {
    const served = await serveMetrics(new Metrics().addBroker(broker()), 0);
    try {
      const res = await fetch(`http://127.0.0.1:${served.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(value(await res.text(), 'qingcheng_broker_connections_total')).toBe(3);
      expect((await fetch(`http://127.0.0.1:${served.port}/`)).status).toBe(404);
    } finally {
      await served.close();
    }
  });
});
