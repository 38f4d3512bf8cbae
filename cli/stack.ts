// `qingcheng stack` (npm start): the whole network on one machine, with a live one-line summary.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Broker } from '../broker/server.ts';
import { hashPassword, type User } from '../broker/users.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { createIngest } from '../ingest/from-options.ts';
import type { IngestWorker } from '../ingest/worker.ts';
import { Node } from '../protocol/config.ts';
import { log, setLogStream } from '../protocol/log.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { AirFleet } from '../simulators/stations.ts';
import { int, parse } from './args.ts';
import { Influxd, InfluxdMissing } from './services/influxd.ts';
import { onShutdown } from './signals.ts';
import { parse as parseYaml } from 'yaml';
import { gatewayConfigFor, rsdSites, startLoggers } from './simulate.ts';
import { loggerSites } from '../simulators/hj212-logger.ts';
import { RsdPusher } from '../simulators/rsd-push.ts';
import { ConsoleServer } from '../console/server.ts';

const OPTS = {
  dir: { type: 'string', default: '.qingcheng', help: 'working directory for the database, outboxes, users and logs' },
  stations: { type: 'string', default: '8', help: 'simulated SIM-AQ6 micro-stations' },
  cems: { type: 'string', default: '2', help: 'simulated SIM-CEMS smokestack analyzers' },
  rsd: { type: 'string', default: '2', help: 'simulated SIM-RSD remote-sensing sites (push vehicle passes to the first gateway)' },
  'hj212-stations': { type: 'string', default: '2', help: 'national air stations uploading over HJ 212 to the last gateway (every 10 s)' },
  gateways: { type: 'string', default: '2', help: 'gateways the stations are split across' },
  workers: { type: 'string', default: '1', help: 'ingest workers' },
  'mqtt-port': { type: 'string', default: '1883', help: 'broker port (0 = a free port)' },
  'health-port': { type: 'string', default: '8081', help: 'broker health port (0 = a free port)' },
  'console-port': { type: 'string', default: '8090', help: 'operator web console port (0 = a free port)' },
  'influx-url': { type: 'string', env: 'INFLUX_URL', help: 'use this InfluxDB (1.x /write) instead of starting a private influxd' },
  db: { type: 'string', default: 'qingcheng', help: 'database name' },
  redis: { type: 'string', env: 'QC_REDIS_URL', help: 'keep the broker\'s state in this Redis (redis://host:port)' },
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng stack [options]   (npm start)', OPTS);
  const dir = resolve(a.dir!);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'stack.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  setLogStream(logStream);
  const say = (s: string) => process.stdout.write(s + '\n');

  say(`qingcheng stack — working directory ${dir}, logs in ${logFile}`);
  let influx: Influxd | undefined;
  let influxUrl = a['influx-url'];
  if (!influxUrl) {
    influx = new Influxd(join(dir, 'influxdb'), a.db!);
    try { await influx.start(); } catch (e) {
      if (e instanceof InfluxdMissing) { process.stderr.write(`qingcheng stack: ${e.message}\n`); process.exit(1); }
      throw e;
    }
    influxUrl = influx.url;
    say(`  influxd      ${influxUrl}  (data in ${join(dir, 'influxdb')})`);
  } else {
    await fetch(`${influxUrl}/query?q=${encodeURIComponent(`CREATE DATABASE "${a.db}"`)}`, { method: 'POST' }).catch(() => undefined);
    say(`  InfluxDB     ${influxUrl}`);
  }

  const nGw = int(a.gateways, 'gateways', 1);
  const nWorkers = int(a.workers, 'workers', 1);
  const secret = () => randomBytes(12).toString('base64url');
  const creds = new Map<string, { role: User['role']; password: string }>();
  for (let g = 1; g <= nGw; g++) creds.set(`gw-sim-${String(g).padStart(2, '0')}`, { role: 'gateway', password: secret() });
  creds.set('ingest', { role: 'ingest', password: secret() });
  creds.set('operator', { role: 'operator', password: secret() });
  const users = await Promise.all([...creds].map(async ([username, c]) => ({ username, role: c.role, password: await hashPassword(c.password) })));
  const broker = await new Broker({ port: int(a['mqtt-port'], 'mqtt-port'), healthPort: int(a['health-port'], 'health-port'), wsPort: 0, users, ...(a.redis ? { redis: a.redis } : {}) }).start();
  const web = await new ConsoleServer({ port: int(a['console-port'], 'console-port'), ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`, prefix: DEFAULT_PREFIX }).start();
  const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
  say(`  broker       ${mqttUrl}  health http://127.0.0.1:${broker.healthPort}/health${a.redis ? `  state in ${a.redis}` : ''}`);

  const fleet = await new AirFleet().start({ stations: int(a.stations, 'stations'), cems: int(a.cems, 'cems'), unitsPerServer: 4, basePort: 0 });
  say(`  simulators   ${a.stations} SIM-AQ6 stations, ${a.cems} SIM-CEMS analyzers on ${fleet.servers.length} Modbus TCP port(s)`);

  const workers: IngestWorker[] = [];
  for (let i = 0; i < nWorkers; i++) {
    workers.push(await createIngest({
      mqttUrl, username: 'ingest', password: creds.get('ingest')!.password, index: i, workers: nWorkers,
      prefix: DEFAULT_PREFIX, shards: DEFAULT_SHARDS, influxUrl, api: 'v1', db: a.db!, org: 'qingcheng', bucket: a.db!,
      ...(i === 0 ? { city: 'hohhot' } : {}),
    }).start());
  }
  say(`  ingest       ${nWorkers} worker(s) → ${influxUrl}/write?db=${a.db}`);

  const gateways: Gateway[] = [];
  // Remote-sensing sites push their passes to the first gateway, on a port the system picks.
  const sites = rsdSites(int(a.rsd, 'rsd'));
  // National stations' HJ 212 loggers connect to the last gateway.
  const loggers = loggerSites(int(a['hj212-stations'], 'hj212-stations'), 0);
  for (let g = 0; g < nGw; g++) {
    const id = `gw-sim-${String(g + 1).padStart(2, '0')}`;
    const mine = fleet.endpoints.filter((_, i) => i % nGw === g);
    const rsd = g === 0 && sites.length ? { listen: '127.0.0.1:0', devices: sites.map((s) => s.dev) } : undefined;
    const hj212 = g === nGw - 1 && loggers.length ? { listen: '127.0.0.1:0', devices: loggers } : undefined;
    if (!mine.length && !rsd && !hj212) continue;
    const yaml = gatewayConfigFor(id, mine, { mqtt: { url: mqttUrl, password: creds.get(id)!.password }, outbox: { path: join(dir, `${id}.outbox.sqlite`) }, ...(rsd ? { rsd } : {}), ...(hj212 ? { hj212 } : {}) });
    gateways.push(await new Gateway(parseGatewayConfig(new Node(join(dir, `${id}.yaml`), '', parseYaml(yaml)))).start());
  }
  say(`  gateways     ${gateways.map((g) => `${g.cfg.id} (${g.cfg.devices.length} devices)`).join(', ')}`);
  const pushUrl = sites.length ? `http://127.0.0.1:${gateways[0]!.ports[0]}/records` : '';
  const pusher = sites.length ? new RsdPusher({ url: pushUrl }, sites).start() : undefined;
  if (sites.length) say(`  remote sensing ${sites.length} SIM-RSD site(s) pushing vehicle passes to ${pushUrl}`);
  const last = gateways[gateways.length - 1]!;
  const hj212Target = loggers.length ? `127.0.0.1:${last.ports[last.inputs.findIndex((i) => i.cfg.type === 'hj212')]}` : '';
  const running = loggers.length ? startLoggers(loggers, hj212Target, 10_000) : [];
  if (loggers.length) say(`  HJ 212       ${loggers.length} national station logger(s) uploading to ${last.cfg.id} at ${hj212Target}`);
  say('');
  say(`Operator console: http://127.0.0.1:${web.port}/  (user "operator", password "${creds.get('operator')!.password}")`);
  say(`Operator login for MQTT clients: user "operator", password "${creds.get('operator')!.password}"`);
  say(`  mosquitto_sub -p ${broker.port} -u operator -P '${creds.get('operator')!.password}' -t 'env/v1/#' -v`);
  say(`Watch the network:`);
  say(`  qingcheng watch --mqtt ${mqttUrl} --password '${creds.get('operator')!.password}'`);
  say(`Query the data:`);
  say(`  curl -sG ${influxUrl}/query --data-urlencode db=${a.db} --data-urlencode "q=SELECT * FROM air ORDER BY time DESC LIMIT 5"`);
  say(`  influx -port ${new URL(influxUrl).port} -database ${a.db} -execute 'SELECT mean(pm25) FROM air WHERE time > now() - 10m GROUP BY dev'`);
  say('Ctrl-C stops everything.\n');

  const summary = new Summary(gateways, workers);
  const timer = setInterval(() => summary.print(), 1000);
  onShutdown(async () => {
    clearInterval(timer);
    pusher?.stop();
    for (const l of running) l.stop();
    for (const g of gateways) await g.stop();
    for (const w of workers) await w.stop();
    await fleet.stop();
    await web.stop();
    await broker.stop();
    await influx?.stop();
    log('info', 'stack stopped');
    await new Promise<void>((r) => logStream.end(() => r()));
  });
}

/** The live one-line summary: rates over the last second and totals. */
class Summary {
  private last = { sampled: 0, written: 0, t: Date.now() };
  private tty = process.stdout.isTTY;
  private lines = 0;

  constructor(private gateways: Gateway[], private workers: IngestWorker[]) {}

  print(): void {
    const sampled = this.gateways.reduce((s, g) => s + g.stats.sampled + g.inputs.reduce((t, i) => t + i.stats.accepted, 0), 0);
    const written = this.workers.reduce((s, w) => s + w.o.sink.stats.written, 0);
    const depth = this.gateways.reduce((s, g) => s + g.outbox.depth, 0);
    const errors = this.gateways.reduce((s, g) => s + g.stats.pollErrors, 0) +
      this.workers.reduce((s, w) => s + w.o.sink.stats.retries + w.stats.rejectedEnvelopes + w.stats.rejectedRecords, 0);
    const dt = (Date.now() - this.last.t) / 1000;
    const line = `sampled ${((sampled - this.last.sampled) / dt).toFixed(1)}/s (total ${sampled})  written ${((written - this.last.written) / dt).toFixed(1)}/s (total ${written})  outbox ${depth}  errors ${errors}` +
      (this.workers.some((w) => w.o.sink.stats.failing) ? '  DATABASE DOWN, buffering' : '');
    this.last = { sampled, written, t: Date.now() };
    // On a terminal the line rewrites itself; in a log it is printed every 10 s.
    if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (this.lines++ % 10 === 0) process.stdout.write(line + '\n');
  }
}
