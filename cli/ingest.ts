import { createIngest } from '../ingest/from-options.ts';
import { DEFAULT_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from '../ingest/leases.ts';
import type { IngestWorker } from '../ingest/worker.ts';
import { log } from '../protocol/log.ts';
import { Metrics, serveMetrics, type IngestSource } from '../protocol/metrics.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { int, parse, UsageError } from './args.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883', env: 'QC_MQTT_URL', help: 'broker URL' },
  username: { type: 'string', default: 'ingest', env: 'QC_MQTT_USERNAME', help: 'broker user (role ingest)' },
  password: { type: 'string', env: 'QC_MQTT_PASSWORD', help: 'broker password' },
  index: { type: 'string', default: '0', help: "this worker's index i; it reads shards s with s mod workers = i" },
  workers: { type: 'string', default: '1', help: 'number of ingest workers sharing the shards' },
  leases: {
    type: 'string',
    env: 'QC_INGEST_LEASES',
    help: 'redis://HOST:PORT: take shards by lease in this Redis instead of by --index/--workers (workers come and go freely)',
  },
  'lease-ttl-ms': {
    type: 'string',
    default: String(DEFAULT_LEASE_TTL_MS),
    help: `with --leases: how long a lease outlives its last renewal (renewed every third of it; at least ${MIN_LEASE_TTL_MS})`,
  },
  shards: {
    type: 'string',
    default: String(DEFAULT_SHARDS),
    help: 'number of up/ shards (the same for every process)',
  },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  'influx-url': { type: 'string', default: 'http://127.0.0.1:8086', env: 'INFLUX_URL', help: 'InfluxDB base URL' },
  api: { type: 'string', default: 'v1', help: 'write endpoint: v1 (/write) or v2 (/api/v2/write)' },
  db: { type: 'string', default: 'qingcheng', help: 'v1 database' },
  rp: { type: 'string', help: 'v1 retention policy' },
  'influx-username': { type: 'string', env: 'INFLUX_USERNAME', help: 'v1 user' },
  'influx-password': { type: 'string', env: 'INFLUX_PASSWORD', help: 'v1 password' },
  org: { type: 'string', default: 'qingcheng', help: 'v2 organisation' },
  bucket: { type: 'string', default: 'qingcheng', help: 'v2 bucket' },
  token: { type: 'string', env: 'INFLUX_TOKEN', help: 'v2 token' },
  'v2-client': {
    type: 'string',
    default: 'influxdb-client',
    help: 'how v2 posts its writes: influxdb-client (@influxdata/influxdb-client, gzip) or http (the keep-alive pool of v1)',
  },
  'batch-lines': { type: 'string', default: '5000', help: 'lines per database write' },
  'flush-ms': { type: 'string', default: '200', help: 'longest wait before a partial batch is written' },
  'max-buffer-lines': {
    type: 'string',
    default: '100000',
    help: 'buffered lines at most; past this ingest stops reading MQTT',
  },
  devices: { type: 'string', help: 'YAML of per-device site tags and rule settings (see config/devices.example.yaml)' },
  city: {
    type: 'string',
    help: 'also run the city-level watch under this name (in one worker of the deployment only)',
  },
  'alarm-open-s': {
    type: 'string',
    default: '60',
    help: 'seconds a value must stay past its limit before an alarm opens',
  },
  'metrics-port': {
    type: 'string',
    help: 'serve Prometheus metrics at GET /metrics on this port (0 = any free port; unset = none)',
  },
  'metrics-host': { type: 'string', default: '127.0.0.1', help: 'address the metrics port listens on' },
  'alarm-close-s': {
    type: 'string',
    default: '60',
    help: 'seconds a value must stay back inside (by 5 %) before an alarm closes',
  },
  ...READY_FILE_OPT,
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng ingest [options]', OPTS);
  if (a.api !== 'v1' && a.api !== 'v2') throw new UsageError(`--api: expected v1 or v2, got ${a.api}`);
  const v2Client = a['v2-client'];
  if (v2Client !== 'influxdb-client' && v2Client !== 'http')
    throw new UsageError(`--v2-client: expected influxdb-client or http, got ${v2Client}`);
  const metricsPort = a['metrics-port'] !== undefined ? int(a['metrics-port'], 'metrics-port') : undefined;
  const workers = int(a.workers, 'workers', 1);
  const index = int(a.index, 'index');
  if (index >= workers) throw new UsageError(`--index ${index} must be below --workers ${workers}`);
  const leases = leaseOptions(a.leases, a['lease-ttl-ms'], argv);
  const worker = createIngest({
    mqttUrl: a.mqtt!,
    index,
    workers,
    shards: int(a.shards, 'shards', 1),
    prefix: a.prefix!,
    influxUrl: a['influx-url']!,
    api: a.api,
    db: a.db!,
    org: a.org!,
    bucket: a.bucket!,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: a.password } : {}),
    ...(a.rp ? { rp: a.rp } : {}),
    ...(a.token ? { token: a.token } : {}),
    v2Client,
    ...(a['influx-username'] ? { influxUser: a['influx-username'], influxPassword: a['influx-password'] ?? '' } : {}),
    sink: {
      batchLines: int(a['batch-lines'], 'batch-lines', 1),
      flushMs: int(a['flush-ms'], 'flush-ms'),
      maxBufferLines: int(a['max-buffer-lines'], 'max-buffer-lines', 1),
    },
    ...(a.devices ? { devicesFile: a.devices } : {}),
    ...(a.city ? { city: a.city } : {}),
    timing: {
      minDurationMs: int(a['alarm-open-s'], 'alarm-open-s') * 1000,
      clearDurationMs: int(a['alarm-close-s'], 'alarm-close-s') * 1000,
      hysteresis: 0.05,
    },
    ...(leases ? { leases } : {}),
  });
  await worker.start();
  log('info', 'ingest running', { client: worker.clientId, influx: worker.o.sink.endpoint.describe });
  const served =
    metricsPort === undefined
      ? undefined
      : await serveMetrics(new Metrics().addIngest(ingestSource(worker)), metricsPort, a['metrics-host']);
  if (served) log('info', 'metrics served', { url: `http://${a['metrics-host']}:${served.port}/metrics` });
  const unready = writeReadyFile(a['ready-file'], { metrics: served?.port });
  onShutdown(async () => {
    unready();
    await served?.close();
    await worker.stop();
  });
}

/** --leases and --lease-ttl-ms, checked; a fixed --index or --workers beside --leases is a mistake worth naming. */
function leaseOptions(
  url: string | undefined,
  ttl: string | undefined,
  argv: string[],
): { redisUrl: string; ttlMs: number } | undefined {
  if (url === undefined) return undefined;
  if (!/^rediss?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--leases: expected redis://HOST:PORT, got ${url}`);
  if (argv.some((x) => /^--(index|workers)(=|$)/.test(x)))
    throw new UsageError('--leases takes shards by lease: leave out --index and --workers');
  return { redisUrl: url, ttlMs: int(ttl, 'lease-ttl-ms', MIN_LEASE_TTL_MS) };
}

/**
 * What the metrics read of a worker. The gateways it has heard from and the seqs it has received are
 * its own bookkeeping, read here rather than counted a second time.
 */
export function ingestSource(w: IngestWorker): IngestSource {
  return {
    name: w.clientId,
    stats: w.stats,
    connected: () => w.connected,
    gateways: () => w.known,
    acked: w.watermarks,
    received: w.applied,
    sink: w.o.sink,
    ...(w.leases
      ? {
          leases: {
            gains: () => w.leases!.stats.gains,
            losses: () => w.leases!.stats.losses,
            held: () => w.shards.length,
            unowned: () => w.unowned,
            resends: () => w.stats.resendRequests,
          },
        }
      : {}),
  };
}
