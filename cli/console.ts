// `qingcheng console`: the operator web console, served here, talking MQTT over WebSocket to the broker,
// with the alarm API over InfluxDB (history and acknowledgements) when --influx-url is given.
import { ConsoleServer } from '../console/server.ts';
import { DEFAULT_PREFIX } from '../protocol/topics.ts';
import { int, parse, UsageError } from './args.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  port: { type: 'string', default: '8090', help: 'HTTP port of the console (0 = any free port)' },
  host: { type: 'string', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 for every interface)' },
  'tls-cert': { type: 'string', help: 'serve HTTPS with this PEM certificate (chain); re-read on SIGHUP' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert' },
  ws: {
    type: 'string',
    default: 'ws://127.0.0.1:8083/mqtt',
    help: "the broker's MQTT-over-WebSocket URL as the browser reaches it (qingcheng broker --ws-port)",
  },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  mqtt: {
    type: 'string',
    help: 'the broker as this server reaches it, to check operator logins for the alarm API (default: --ws)',
  },
  'influx-url': {
    type: 'string',
    env: 'INFLUX_URL',
    help: 'InfluxDB 1.x base URL: alarm history (alert) and acknowledgements (alert_ack); without it the alarm API answers 503',
  },
  db: { type: 'string', default: 'qingcheng', help: 'database' },
  devices: {
    type: 'string',
    help: "ingest's devices file (--devices of qingcheng ingest): district, site, lat and lon of each device for the device list and the map",
  },
  'influx-username': { type: 'string', env: 'INFLUX_USERNAME', help: 'InfluxDB user' },
  'influx-password': { type: 'string', env: 'INFLUX_PASSWORD', help: 'InfluxDB password' },
  ...READY_FILE_OPT,
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng console [options]', OPTS);
  if (!/^wss?:\/\//.test(a.ws!)) throw new UsageError(`--ws: expected a ws:// or wss:// URL, got ${a.ws}`);
  if (!a['tls-cert'] !== !a['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  const c = await new ConsoleServer({
    port: int(a.port, 'port'),
    host: a.host!,
    ws: a.ws!,
    prefix: a.prefix!,
    ...(a.mqtt ? { mqtt: a.mqtt } : {}),
    ...(a.devices ? { devices: a.devices } : {}),
    ...(a['influx-url'] ? { influxUrl: a['influx-url'], db: a.db! } : {}),
    ...(a['influx-username'] ? { influxUser: a['influx-username'], influxPassword: a['influx-password'] ?? '' } : {}),
    ...(a['tls-cert'] && a['tls-key'] ? { tls: { cert: a['tls-cert'], key: a['tls-key'] } } : {}),
  }).start();
  process.stdout.write(
    `operator console at ${a['tls-cert'] ? 'https' : 'http'}://${a.host}:${c.port}/ (broker ${a.ws}; alarm history ${a['influx-url'] ? `${a['influx-url']} db ${a.db}` : 'off: no --influx-url'}); log in with an operator user\n`,
  );
  const unready = writeReadyFile(a['ready-file'], { http: c.port });
  process.on('SIGHUP', () => c.reloadTls());
  onShutdown(() => {
    unready();
    return c.stop();
  });
}
