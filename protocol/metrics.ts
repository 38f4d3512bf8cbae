// Prometheus metrics for every process: one Registry, served on GET /metrics. Each role's numbers are
// read from the `stats` objects its components already keep, when Prometheus scrapes (collect callbacks),
// so nothing is counted twice and the components stay free of metrics code. The sources are described
// by shape only: protocol/ imports nothing of ours.
import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { listen } from './listen.ts';

type Labels = Record<string, string>;
/** One sample of a metric read at scrape time. */
type Sample = [Labels, number];

export interface BrokerSource {
  stats: {
    connects: number;
    refused: number;
    deniedPublish: number;
    deniedSubscribe: number;
    deniedRetain: number;
    oversizePackets: number;
    malformedPackets: number;
    refusedRate: number;
    refusedClientId: number;
    tooManySubscriptions: number;
    longTopics: number;
    refusedCert?: number;
    tlsHandshakeFailures?: number;
    abandonedLogins?: number;
  };
  /** Clients logged in now. */
  readonly clients: number;
}

interface PushLink {
  cfg: { name: string; type: string };
  stats: Record<string, number>;
  /** An hj212 link's history requests (links that fetch history). */
  history?: { totals: Record<string, number> };
}

export interface GatewaySource {
  cfg: { id: string };
  stats: { sampled: number; pollErrors: number; skipped: number };
  outbox: { depth: number; evicted: number; next: number; acked: number };
  uplink: {
    stats: { envelopes: number; published: number; republished: number; acks: number; errors: number; refused: number };
  };
  inputs: readonly PushLink[];
  modbusLinks: readonly {
    cfg: { name: string };
    stats: { requests: number; errors: number; timeouts: number; reconnects: number };
  }[];
}

interface Marks {
  get(gw: string): { ep: string; seq: number } | undefined;
  pending(gw: string): [number, number][];
}

export interface SinkSource {
  stats: { written: number; batches: number; retries: number; rejected: number; failing: boolean };
  readonly bufferedLines: number;
  onBatch?: (ms: number, ok: boolean) => void;
}

export interface IngestSource {
  /** The worker label: its MQTT client id, unique among the workers of a deployment. */
  name: string;
  stats: { envelopes: number; records: number; rejectedEnvelopes: number; rejectedRecords: number; acks: number };
  connected(): boolean;
  /** Gateways the worker has heard from. */
  gateways(): Iterable<string>;
  /** Seqs written (or settled as gaps and dead letters): what the worker acknowledges. */
  acked: Marks;
  /** Seqs received (ranges, replays included). */
  received: Marks;
  sink: SinkSource;
  /**
   * With shard leases: shards taken, given back or lost, held now, envelopes of shards not held, and
   * resend requests sent to the gateways of shards taken, or of all its shards after a reconnect.
   */
  leases?: { gains(): number; losses(): number; held(): number; unowned(): number; resends(): number };
}

const BROKER_REFUSALS: [string, keyof BrokerSource['stats']][] = [
  ['bad_login', 'refused'],
  ['client_id', 'refusedClientId'],
  ['rate', 'refusedRate'],
  ['oversize_packet', 'oversizePackets'],
  ['malformed_packet', 'malformedPackets'],
  ['denied_publish', 'deniedPublish'],
  ['denied_subscribe', 'deniedSubscribe'],
  ['denied_retain', 'deniedRetain'],
  ['too_many_subscriptions', 'tooManySubscriptions'],
  ['client_cert', 'refusedCert'],
  ['tls_handshake', 'tlsHandshakeFailures'],
  ['long_topic', 'longTopics'],
  ['abandoned_login', 'abandonedLogins'],
];

/** The metrics of one process, whatever roles it hosts (the stack hosts them all). */
export class Metrics {
  readonly registry = new Registry();
  private brokers: BrokerSource[] = [];
  private gateways: GatewaySource[] = [];
  private workers: IngestSource[] = [];
  private writeSeconds?: Histogram<'worker' | 'outcome'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'qingcheng_process_' });
  }

  addBroker(b: BrokerSource): this {
    if (this.brokers.push(b) === 1) this.brokerMetrics();
    return this;
  }

  addGateway(g: GatewaySource): this {
    if (this.gateways.push(g) === 1) this.gatewayMetrics();
    return this;
  }

  addIngest(w: IngestSource): this {
    if (this.workers.push(w) === 1) this.ingestMetrics();
    const histogram = this.writeSeconds!;
    w.sink.onBatch = (ms, ok) => histogram.observe({ worker: w.name, outcome: ok ? 'written' : 'refused' }, ms / 1000);
    return this;
  }

  /** The text Prometheus reads. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** A counter whose value is read from a component's own count at each scrape. */
  private counter(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.inc(labels, v);
      },
    });
  }

  private gauge(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.set(labels, v);
      },
    });
  }

  private brokerMetrics(): void {
    const sum = (f: (b: BrokerSource) => number) => this.brokers.reduce((n, b) => n + f(b), 0);
    this.counter('qingcheng_broker_connections_total', 'Logins the broker accepted', [], () => [
      [{}, sum((b) => b.stats.connects)],
    ]);
    this.gauge('qingcheng_broker_clients', 'Clients logged in now', [], () => [[{}, sum((b) => b.clients)]]);
    this.counter(
      'qingcheng_broker_refusals_total',
      'Connections, packets, publishes and subscriptions the broker refused, by kind',
      ['kind'],
      () => BROKER_REFUSALS.map(([kind, key]) => [{ kind }, sum((b) => b.stats[key] ?? 0)]),
    );
  }

  private gatewayMetrics(): void {
    const each =
      (f: (g: GatewaySource) => number): (() => Sample[]) =>
      () =>
        this.gateways.map((g) => [{ gateway: g.cfg.id }, f(g)]);
    for (const [kind, name, help, read] of GATEWAY_METRICS) this[kind](name, help, ['gateway'], each(read));
    this.linkMetrics();
  }

  /** Per link: HJ 212 frames, http records, Modbus requests. */
  private linkMetrics(): void {
    const labels = ['gateway', 'link'];
    const pushed = (type: string, read: (l: PushLink) => Sample[]) => () =>
      this.gateways.flatMap((g) =>
        g.inputs
          .filter((l) => l.cfg.type === type)
          .flatMap((l) => read(l).map(([x, v]): Sample => [{ gateway: g.cfg.id, link: l.cfg.name, ...x }, v])),
      );
    const outcomes =
      (...keys: string[]) =>
      (l: PushLink) =>
        keys.map((k): Sample => [{ outcome: k }, l.stats[k] ?? 0]);
    this.counter(
      'qingcheng_gateway_hj212_frames_total',
      'HJ 212 frames by outcome: accepted, rejected (bad CRC, unknown MN, unreadable data), ignored (not data)',
      [...labels, 'outcome'],
      pushed('hj212', outcomes('accepted', 'rejected', 'ignored')),
    );
    this.counter(
      'qingcheng_gateway_hj212_garbage_total',
      'Runs of bytes dropped on an HJ 212 link because they were not a frame',
      labels,
      pushed('hj212', (l) => [[{}, l.stats.garbage ?? 0]]),
    );
    this.counter(
      'qingcheng_gateway_hj212_connections_total',
      'Connections of HJ 212 data loggers',
      labels,
      pushed('hj212', (l) => [[{}, l.stats.connections ?? 0]]),
    );
    this.counter(
      'qingcheng_gateway_hj212_history_total',
      "HJ 212 history fetched from loggers' memory for holes in their series: requests sent, data packets received, requests timed out, windows done and given up",
      [...labels, 'outcome'],
      pushed('hj212', (l) =>
        (['requested', 'received', 'timedOut', 'done', 'failed'] as const).map((k): Sample => [
          { outcome: k === 'timedOut' ? 'timed_out' : k },
          l.history?.totals[k] ?? 0,
        ]),
      ),
    );
    this.counter(
      'qingcheng_gateway_http_records_total',
      'Records pushed over http, by outcome',
      [...labels, 'outcome'],
      pushed('http', outcomes('accepted', 'rejected')),
    );
    this.counter(
      'qingcheng_gateway_http_unauthorized_total',
      'Pushes over http refused with 401: no bearer token, or a wrong one',
      labels,
      pushed('http', (l) => [[{}, l.stats.unauthorized ?? 0]]),
    );
    const modbus = (read: (s: GatewaySource['modbusLinks'][number]['stats']) => number) => () =>
      this.gateways.flatMap((g) =>
        g.modbusLinks.map((l): Sample => [{ gateway: g.cfg.id, link: l.cfg.name }, read(l.stats)]),
      );
    this.counter(
      'qingcheng_gateway_modbus_requests_total',
      'Modbus requests',
      labels,
      modbus((s) => s.requests),
    );
    this.counter(
      'qingcheng_gateway_modbus_errors_total',
      'Modbus requests that failed (timeouts included)',
      labels,
      modbus((s) => s.errors),
    );
    this.counter(
      'qingcheng_gateway_modbus_timeouts_total',
      'Modbus requests that timed out',
      labels,
      modbus((s) => s.timeouts),
    );
    this.counter(
      'qingcheng_gateway_modbus_connects_total',
      'Modbus link connections opened (the first one included)',
      labels,
      modbus((s) => s.reconnects),
    );
  }

  private ingestMetrics(): void {
    const each =
      (f: (w: IngestSource) => number): (() => Sample[]) =>
      () =>
        this.workers.map((w) => [{ worker: w.name }, f(w)]);
    for (const [kind, name, help, read] of INGEST_METRICS) this[kind](name, help, ['worker'], each(read));
    this.counter(
      'qingcheng_ingest_dead_letters_total',
      'Input sent to the dead-letter queue, by class: envelope (undecodable), record (invalid records), database (batches it refused)',
      ['worker', 'reason'],
      () =>
        this.workers.flatMap((w): Sample[] => [
          [{ worker: w.name, reason: 'envelope' }, w.stats.rejectedEnvelopes],
          [{ worker: w.name, reason: 'record' }, w.stats.rejectedRecords],
          [{ worker: w.name, reason: 'database' }, w.sink.stats.rejected],
        ]),
    );
    this.writeSeconds = new Histogram({
      name: 'qingcheng_ingest_write_seconds',
      help: 'Time to store one batch, retries included, by outcome (written, refused)',
      labelNames: ['worker', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.watermarkMetrics();
  }

  /** Per gateway: what the worker has acknowledged, and what it received but has not acknowledged yet. */
  private watermarkMetrics(): void {
    const perGateway = (f: (w: IngestSource, gw: string) => number) => () =>
      this.workers.flatMap((w) => [...w.gateways()].map((gw): Sample => [{ worker: w.name, gateway: gw }, f(w, gw)]));
    const labels = ['worker', 'gateway'];
    this.gauge(
      'qingcheng_ingest_acked_records',
      "Records of the gateway's current outbox acknowledged (watermark + 1)",
      labels,
      perGateway((w, gw) => (w.acked.get(gw)?.seq ?? -1) + 1),
    );
    this.gauge(
      'qingcheng_ingest_unacked_records',
      'Watermark lag: records received from the gateway but not yet acknowledged (not yet written, or behind a hole)',
      labels,
      perGateway((w, gw) => unacked(w, gw)),
    );
  }
}

/** A metric read from one source (a gateway, a worker) at each scrape: counter or gauge, name, help, how to read it. */
type Row<S> = [kind: 'counter' | 'gauge', name: string, help: string, read: (s: S) => number];

const GATEWAY_METRICS: Row<GatewaySource>[] = [
  ['counter', 'qingcheng_gateway_records_sampled_total', 'Records read from polled devices', (g) => g.stats.sampled],
  ['counter', 'qingcheng_gateway_poll_errors_total', 'Polls that failed', (g) => g.stats.pollErrors],
  [
    'counter',
    'qingcheng_gateway_polls_skipped_total',
    'Polls skipped because the previous read of the device was still on the wire',
    (g) => g.stats.skipped,
  ],
  [
    'counter',
    'qingcheng_gateway_records_published_total',
    'Records published for the first time',
    (g) => g.uplink.stats.published,
  ],
  [
    'counter',
    'qingcheng_gateway_records_republished_total',
    'Records published again because no acknowledgement came in time',
    (g) => g.uplink.stats.republished,
  ],
  ['counter', 'qingcheng_gateway_envelopes_published_total', 'Envelopes published', (g) => g.uplink.stats.envelopes],
  ['counter', 'qingcheng_gateway_acks_received_total', 'Acknowledgements received', (g) => g.uplink.stats.acks],
  [
    'counter',
    'qingcheng_gateway_envelopes_refused_total',
    'Envelopes whose header ingest refused (the reason is in status/{gw} last_refusal)',
    (g) => g.uplink.stats.refused,
  ],
  [
    'counter',
    'qingcheng_gateway_uplink_errors_total',
    'MQTT errors and failed publishes',
    (g) => g.uplink.stats.errors,
  ],
  [
    'gauge',
    'qingcheng_gateway_outbox_records',
    'Records held in the outbox (unsent or unacknowledged)',
    (g) => g.outbox.depth,
  ],
  [
    'counter',
    'qingcheng_gateway_outbox_evicted_total',
    'Records evicted from a full outbox (lost, announced as a gap); kept across restarts',
    (g) => g.outbox.evicted,
  ],
  [
    'gauge',
    'qingcheng_gateway_unacked_records',
    'Watermark lag: records stored but not yet acknowledged by ingest (next_seq - 1 - acked)',
    (g) => g.outbox.next - 1 - g.outbox.acked,
  ],
];

const INGEST_METRICS: Row<IngestSource>[] = [
  ['counter', 'qingcheng_ingest_envelopes_received_total', 'Envelopes received and decoded', (w) => w.stats.envelopes],
  [
    'counter',
    'qingcheng_ingest_lines_received_total',
    'Lines handed to the database writer: records and the points derived from them',
    (w) => w.stats.records,
  ],
  ['counter', 'qingcheng_ingest_lines_written_total', 'Lines the database stored', (w) => w.sink.stats.written],
  ['counter', 'qingcheng_ingest_batches_written_total', 'Batches the database stored', (w) => w.sink.stats.batches],
  [
    'counter',
    'qingcheng_ingest_write_retries_total',
    'Database writes tried again after a failure',
    (w) => w.sink.stats.retries,
  ],
  ['counter', 'qingcheng_ingest_acks_published_total', 'Acknowledgements published', (w) => w.stats.acks],
  ['gauge', 'qingcheng_ingest_buffered_lines', 'Lines waiting for the database', (w) => w.sink.bufferedLines],
  ['gauge', 'qingcheng_ingest_write_failing', '1 while database writes fail', (w) => Number(w.sink.stats.failing)],
  ['gauge', 'qingcheng_ingest_connected', '1 while connected to the broker', (w) => Number(w.connected())],
  ['counter', 'qingcheng_ingest_lease_gains_total', 'Shard leases taken (--leases)', (w) => w.leases?.gains() ?? 0],
  [
    'counter',
    'qingcheng_ingest_lease_losses_total',
    'Shard leases given back to the fair share, lost to another worker or not renewed in time (--leases)',
    (w) => w.leases?.losses() ?? 0,
  ],
  ['gauge', 'qingcheng_ingest_shards_held', 'Shards read by lease now (--leases)', (w) => w.leases?.held() ?? 0],
  [
    'counter',
    'qingcheng_ingest_unowned_envelopes_total',
    'Envelopes of a shard no longer held when they arrived: left for its new owner (--leases)',
    (w) => w.leases?.unowned() ?? 0,
  ],
  [
    'counter',
    'qingcheng_ingest_resend_requests_total',
    'Gateways asked to re-publish at once what is unacknowledged, after their shard was taken or the worker reconnected (--leases)',
    (w) => w.leases?.resends() ?? 0,
  ],
];

/** The highest seq received less the watermark, in the epoch received last. */
function unacked(w: IngestSource, gw: string): number {
  const r = w.received.get(gw);
  if (!r) return 0;
  const top = Math.max(r.seq, ...w.received.pending(gw).map(([, to]) => to));
  const a = w.acked.get(gw);
  return Math.max(0, top - (a && a.ep === r.ep ? a.seq : -1));
}

/** Serves GET /metrics; resolves once it listens, with the port (the one the system chose for 0). */
export async function serveMetrics(
  metrics: Metrics,
  port: number,
  host = '127.0.0.1',
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics')
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics at /metrics\n');
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  const bound = await listen(
    server,
    port,
    host,
    'stop what holds it, or choose another --metrics-port (0 picks a free one)',
  );
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
