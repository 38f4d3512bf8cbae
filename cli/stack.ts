// `qingcheng stack` (npm start): the whole network on one machine, with a live one-line summary.
import { randomBytes } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from '../broker/server.ts';
import { hashPassword, type User } from '../broker/users.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { createIngest } from '../ingest/from-options.ts';
import type { IngestWorker } from '../ingest/worker.ts';
import { Node } from '../protocol/config.ts';
import { log, setLogStream } from '../protocol/log.ts';
import { Metrics, serveMetrics } from '../protocol/metrics.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import type { Template } from '../gateway/templates.ts';
import { AirFleet } from '../simulators/stations.ts';
import { CliError, int, parse, UsageError } from './args.ts';
import { ingestSource } from './ingest.ts';
import { loadCredentials } from './services/credentials.ts';
import { obtainInfluxd } from './services/influxd-install.ts';
import { Influxd, influxdPath } from './services/influxd.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { portIsFree } from './services/ports.ts';
import { WorkDir } from './services/workdir.ts';
import { onShutdown } from './signals.ts';
import { parse as parseYaml } from 'yaml';
import { gatewayConfigFor, startLoggers, templateNamed } from './simulate.ts';
import type { Hj212Logger } from '../simulators/hj212-logger.ts';
import { rsdPusher } from '../simulators/rsd-push.ts';
import { RecordPusher } from '../simulators/record-push.ts';
import { LOGGER_CLASSES, type FieldSite, type LoggerClass } from '../simulators/field-sites.ts';
import type { RsdSiteOptions } from '../simulators/models/rsd.ts';
import { nozzleIds, vaporRecords, type VaporSite } from '../simulators/models/vapor.ts';
import {
  describeCounts,
  gatewayOfLogger,
  loggersOf,
  miniNetwork,
  networkNamed,
  rsdSitesOf,
  scaled,
  vaporSitesOf,
  type NetworkCounts,
} from './network.ts';
import { ConsoleServer } from '../console/server.ts';

const USAGE = `Usage: qingcheng stack [options]   (npm start)

Runs influxd, the broker, ingest, simulated instruments and gateways on 127.0.0.1. Passwords are made
on the first start and kept in <dir>/credentials.json (mode 0600). The ports below can be chosen; the
others (the simulators' Modbus ports, the gateways' HJ 212 and http links, influxd's internal RPC
port) are picked free at each start and printed where they matter.`;

const OPTS = {
  dir: {
    type: 'string',
    default: '.qingcheng',
    help: 'working directory for the database, outboxes, credentials and logs',
  },
  stations: { type: 'string', default: '8', help: 'simulated SIM-AQ6 micro-stations' },
  cems: { type: 'string', default: '2', help: 'simulated SIM-CEMS smokestack analyzers' },
  rsd: {
    type: 'string',
    default: '2',
    help: 'simulated SIM-RSD remote-sensing sites (push vehicle passes to the first gateway)',
  },
  'hj212-stations': {
    type: 'string',
    default: '2',
    help: 'national air stations uploading over HJ 212 to the last gateway (every 10 s)',
  },
  devices: {
    type: 'string',
    help: "a devices file (config/devices.example.yaml) for ingest's sites and limits and the console's device list and map",
  },
  field: {
    type: 'string',
    default: '1',
    help: 'of every other device class (fumes ×2, ammonia slip, VOC, vapour recovery, river section, drinking-water source, outfall, noise), this many, over HJ 212 loggers and the http link (0 for none)',
  },
  instruments: {
    type: 'string',
    help: 'more simulated instruments from the device library, NAME[:N],… (`qingcheng gateway templates` lists them; "" for none; default SONBEST-SM7901B,YSI-ODO,INSITU-AQUATROLL400 in the miniature network)',
  },
  network: {
    type: 'string',
    help: 'run a planned network instead of the miniature one: hohhot (15 national stations, 57 micro-stations, 345 CEMS, 583 fume monitors, … 224 noise points); the counts options above are then ignored',
  },
  scale: {
    type: 'string',
    default: '1',
    help: 'with --network: a fraction of every count (at least one of each class)',
  },
  'poll-s': {
    type: 'string',
    help: 'seconds between Modbus polls of each instrument (default 1; 60 with --network, as micro-stations report each minute)',
  },
  gateways: { type: 'string', help: 'gateways the devices are split across (default 2; 8 with --network)' },
  workers: { type: 'string', default: '1', help: 'ingest workers' },
  'mqtt-port': { type: 'string', default: '1883', help: 'broker port (0 = a free port)' },
  'ws-port': {
    type: 'string',
    default: '0',
    help: 'broker MQTT-over-WebSocket port, which the console page connects to (0 = a free port)',
  },
  'health-port': { type: 'string', default: '8081', help: 'broker health port (0 = a free port)' },
  'console-port': { type: 'string', default: '8090', help: 'operator web console port (0 = a free port)' },
  'influx-port': {
    type: 'string',
    default: '0',
    help: "the private influxd's HTTP port (0 = a free port; unused with --influx-url)",
  },
  'influx-url': {
    type: 'string',
    env: 'INFLUX_URL',
    help: 'use this InfluxDB (1.x /write) instead of starting a private influxd',
  },
  'metrics-port': {
    type: 'string',
    help: 'serve Prometheus metrics of every part (broker, gateways, workers) at GET /metrics on this port (0 = a free port; unset = none)',
  },
  db: { type: 'string', default: 'qingcheng', help: 'database name' },
  redis: { type: 'string', env: 'QC_REDIS_URL', help: "keep the broker's state in this Redis (redis://host:port)" },
  ...READY_FILE_OPT,
} as const;

type Args = ReturnType<typeof parse<typeof OPTS>>;
type Ports = Record<'mqtt-port' | 'ws-port' | 'health-port' | 'console-port' | 'influx-port', number>;
type Stop = () => Promise<void>;
const say = (s: string) => process.stdout.write(s + '\n');

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, USAGE, OPTS);
  // Every number is checked before anything is created, so a typo leaves nothing behind.
  const ports: Ports = {
    'mqtt-port': int(a['mqtt-port'], 'mqtt-port'),
    'ws-port': int(a['ws-port'], 'ws-port'),
    'health-port': int(a['health-port'], 'health-port'),
    'console-port': int(a['console-port'], 'console-port'),
    'influx-port': int(a['influx-port'], 'influx-port'),
  };
  if (a['metrics-port'] !== undefined) int(a['metrics-port'], 'metrics-port');
  for (const k of ['stations', 'cems', 'rsd', 'hj212-stations', 'field'] as const) int(a[k], k);
  int(a.workers, 'workers', 1);
  if (a.gateways !== undefined) int(a.gateways, 'gateways', 1);
  if (a['poll-s'] !== undefined) int(a['poll-s'], 'poll-s', 1);
  if (a.network !== undefined) networkNamed(a.network);
  scaleOf(a.scale!);
  const work = new WorkDir(resolve(a.dir!));
  const logFile = join(work.path, 'stack.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  setLogStream(logStream);
  const closeLog = async () => {
    setLogStream({ write: () => true }); // whatever still logs while stopping must not write to an ended stream
    await new Promise<void>((r) => logStream.end(() => r()));
  };
  // What the start has brought up, each with its stop: Ctrl-C stops them newest first, and so does a failed start.
  const stops: Stop[] = [];
  say(`qingcheng stack — working directory ${work.path}, logs in ${logFile}`);
  // Ctrl-C before everything is up just exits: influxd, in its own process group, is stopped by its exit hook.
  const abort = () => process.exit(130);
  process.once('SIGINT', abort).once('SIGTERM', abort);
  try {
    await start(a, ports, work.path, stops);
  } catch (e) {
    log('error', 'start failed', { error: (e as Error).stack });
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await closeLog();
    work.undo();
    // A user-facing error stays as it is; anything else still gets one line, not a trace.
    throw e instanceof CliError || e instanceof UsageError || (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? e
      : new CliError(`could not start: ${(e as Error).message}`);
  } finally {
    process.off('SIGINT', abort).off('SIGTERM', abort);
  }
  onShutdown(async () => {
    for (const stop of stops.reverse()) await stop();
    log('info', 'stack stopped');
    await closeLog();
  });
}

async function start(a: Args, ports: Ports, dir: string, stops: Stop[]): Promise<void> {
  // Ports first: one in use stops the start before influxd is installed or started.
  for (const [option, port] of Object.entries(ports)) {
    if (port && !(option === 'influx-port' && a['influx-url']))
      await portIsFree(port, `stop what holds it, or choose another --${option} (0 picks a free one)`);
  }
  const metricsPort = a['metrics-port'] !== undefined ? int(a['metrics-port'], 'metrics-port') : undefined;
  if (metricsPort)
    await portIsFree(metricsPort, 'stop what holds it, or choose another --metrics-port (0 picks a free one)');
  const planned = a.network !== undefined;
  const counts = planned
    ? scaled(networkNamed(a.network!), scaleOf(a.scale!))
    : miniNetwork({
        stations: int(a.stations, 'stations'),
        cems: int(a.cems, 'cems'),
        rsd: int(a.rsd, 'rsd'),
        hj212Stations: int(a['hj212-stations'], 'hj212-stations'),
        field: int(a.field, 'field'),
      });
  const nGw = a.gateways !== undefined ? int(a.gateways, 'gateways', 1) : planned ? 8 : 2;
  const nWorkers = int(a.workers, 'workers', 1);
  const pollMs = (a['poll-s'] !== undefined ? int(a['poll-s'], 'poll-s', 1) : planned ? 60 : 1) * 1000;
  const instruments = instrumentsOf(a.instruments ?? (planned ? '' : DEFAULT_INSTRUMENTS));
  const gwIds = Array.from({ length: nGw }, (_, g) => `gw-sim-${String(g + 1).padStart(2, '0')}`);
  const creds = loadCredentials(
    join(dir, 'credentials.json'),
    new Map<string, User['role']>([
      ...gwIds.map((id) => [id, 'gateway'] as const),
      ['ingest', 'ingest'],
      ['operator', 'operator'],
    ]),
  );
  const password = (user: string) => creds.get(user)!.password;
  const users = await Promise.all(
    [...creds].map(async ([username, c]) => ({ username, role: c.role, password: await hashPassword(c.password) })),
  );
  const broker = await new Broker({
    port: ports['mqtt-port'],
    healthPort: ports['health-port'],
    wsPort: ports['ws-port'],
    users,
    // Every gateway and worker connects from 127.0.0.1: the per-address bucket must hold them all at once.
    limits: { connectBurst: Math.max(100, nGw + nWorkers + 50), connectPerSecond: Math.max(20, nGw + nWorkers) },
    ...(a.redis ? { redis: a.redis } : {}),
  }).start();
  stops.push(() => broker.stop());
  const influxUrl = await database(a, ports['influx-port'], dir, stops);
  const web = await new ConsoleServer({
    port: ports['console-port'],
    ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`,
    prefix: DEFAULT_PREFIX,
    influxUrl,
    db: a.db!,
    ...(a.devices ? { devices: a.devices } : {}),
  }).start();
  stops.push(() => web.stop());
  const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
  say(
    `  broker       ${mqttUrl}  ws://127.0.0.1:${broker.wsPort}/mqtt  health http://127.0.0.1:${broker.healthPort}/health${a.redis ? `  state in ${a.redis}` : ''}`,
  );

  say(
    `  network      ${planned ? `${a.network}${a.scale === '1' ? '' : ` ×${a.scale}`}` : 'miniature'}: ${describeCounts(counts)}`,
  );
  const fleet = await new AirFleet().start({
    stations: counts.micro,
    cems: counts.cemsModbus,
    templates: instruments,
    unitsPerServer: 4,
    basePort: 0,
  });
  stops.push(() => fleet.stop());
  const more = instruments.map((t) => `${t.units} ${t.def.name} (${t.def.kind})`).join(', ');
  say(
    `  simulators   ${counts.micro} SIM-AQ6 stations, ${counts.cemsModbus} SIM-CEMS analyzers${more ? `, ${more}` : ''} on ${fleet.servers.length} Modbus TCP port(s), polled every ${pollMs / 1000} s`,
  );

  const devicesFile = writeDeviceSettings(dir, counts);
  const workers: IngestWorker[] = [];
  for (let i = 0; i < nWorkers; i++) {
    const w = createIngest({
      mqttUrl,
      username: 'ingest',
      password: password('ingest'),
      index: i,
      workers: nWorkers,
      prefix: DEFAULT_PREFIX,
      shards: DEFAULT_SHARDS,
      influxUrl,
      api: 'v1',
      db: a.db!,
      org: 'qingcheng',
      bucket: a.db!,
      devicesFile,
      ...(i === 0 ? { city: 'hohhot' } : {}),
      ...(a.devices ? { devicesFile: a.devices } : {}),
    });
    stops.push(() => w.stop());
    workers.push(await w.start());
  }
  say(`  ingest       ${nWorkers} worker(s) → ${influxUrl}/write?db=${a.db}`);

  const gateways = await startGateways(counts, fleet, gwIds, planned, pollMs, mqttUrl, password, dir, stops);
  const metrics =
    metricsPort === undefined ? undefined : await serveStackMetrics(metricsPort, broker, workers, gateways, stops);
  printHowTo(mqttUrl, password('operator'), web.port, influxUrl, a.db!);
  const unready = writeReadyFile(a['ready-file'], {
    mqtt: broker.port,
    ws: broker.wsPort,
    health: broker.healthPort,
    console: web.port,
    influx: a['influx-url'] ? undefined : Number(new URL(influxUrl).port),
    metrics,
  });
  stops.push(async () => unready());

  const summary = new Summary(gateways, workers);
  const timer = setInterval(() => summary.print(), 1000);
  stops.push(async () => clearInterval(timer));
}

type GatewayPlan = { id: string; rsd: RsdSiteOptions[]; vapor: VaporSite[]; loggers: FieldSite[] };

/**
 * Starts the gateways and what reports to them. The miniature network keeps one layout (pushers on the
 * first gateway, HJ 212 loggers on the last); a planned one spreads every class over all of them, an
 * enterprise's smokestacks on one gateway.
 */
async function startGateways(
  counts: NetworkCounts,
  fleet: AirFleet,
  gwIds: string[],
  planned: boolean,
  pollMs: number,
  mqttUrl: string,
  password: (user: string) => string,
  dir: string,
  stops: Stop[],
): Promise<Gateway[]> {
  const nGw = gwIds.length;
  const plans: GatewayPlan[] = gwIds.map((id) => ({ id, rsd: [], vapor: [], loggers: [] }));
  rsdSitesOf(counts).forEach((r, i) => plans[planned ? i % nGw : 0]!.rsd.push(r));
  vaporSitesOf(counts).forEach((v, i) => plans[planned ? i % nGw : 0]!.vapor.push(v));
  const byClass = new Map<string, number>();
  for (const site of loggersOf(counts)) {
    const i = byClass.get(site.cls) ?? 0;
    byClass.set(site.cls, i + 1);
    plans[planned ? gatewayOfLogger(site, i, counts, nGw) : nGw - 1]!.loggers.push(site);
  }
  const gateways: Gateway[] = [];
  const pushers: { stop(): void }[] = [];
  const loggers: Hj212Logger[] = [];
  stops.push(async () => {
    for (const x of [...pushers, ...loggers]) x.stop();
  });
  const lines: string[] = [];
  // The simulated pushers and the gateways' http links share a token made for this run.
  const token = randomBytes(18).toString('base64url');
  for (const [g, plan] of plans.entries()) {
    const mine = fleet.endpoints.filter((_, i) => i % nGw === g);
    const pushed = [
      ...plan.rsd.map((r) => r.dev),
      ...plan.vapor.flatMap((v) => [v.dev, ...nozzleIds(v)].map((id) => ({ id, kind: 'vapor' }))),
    ];
    if (!mine.length && !pushed.length && !plan.loggers.length) continue;
    const yaml = gatewayConfigFor(plan.id, mine, {
      mqtt: { url: mqttUrl, password: password(plan.id) },
      outbox: { path: join(dir, `${plan.id}.outbox.sqlite`) },
      ...(pushed.length ? { rsd: { listen: '127.0.0.1:0', devices: pushed, token } } : {}),
      ...(plan.loggers.length ? { hj212: { listen: '127.0.0.1:0', devices: plan.loggers } } : {}),
    }).replace(/poll_ms: 1000/g, `poll_ms: ${pollMs}`);
    const gw = new Gateway(parseGatewayConfig(new Node(join(dir, `${plan.id}.yaml`), '', parseYaml(yaml))));
    stops.push(() => gw.stop());
    gateways.push(await gw.start());
    const port = (type: string) => gw.ports[gw.inputs.findIndex((i) => i.cfg.type === type)];
    if (pushed.length) {
      const target = { url: `http://127.0.0.1:${port('http')}/records`, token };
      if (plan.rsd.length) pushers.push(rsdPusher(target, plan.rsd).start());
      if (plan.vapor.length)
        pushers.push(
          new RecordPusher(target, (from, to) => plan.vapor.flatMap((v) => vaporRecords(v, from, to)), {
            everyMs: 10_000,
            what: 'vapour-recovery simulator',
          }).start(),
        );
      if (!planned) {
        if (plan.rsd.length)
          lines.push(`  remote sensing ${plan.rsd.length} SIM-RSD site(s) pushing vehicle passes to ${target.url}`);
        if (plan.vapor.length)
          lines.push(
            `  vapour       ${plan.vapor.length} SIM-VAPOR station(s) (${plan.vapor.length * counts.nozzles} nozzles) pushing fuellings, tank pressure and vapour concentration to ${target.url}`,
          );
      }
    }
    if (plan.loggers.length) {
      const target = `127.0.0.1:${port('hj212')}`;
      // A network's loggers are not in step: after its first upload each keeps its own phase.
      loggers.push(...startLoggers(plan.loggers, target, 0, planned));
      if (!planned)
        lines.push(
          `  HJ 212       ${plan.loggers.length} logger(s) uploading to ${plan.id} at ${target}: ${byClassText(plan.loggers)}`,
        );
    }
  }
  say(`  gateways     ${gateways.map((g) => `${g.cfg.id} (${g.cfg.devices.length} devices)`).join(', ')}`);
  if (planned) {
    const all = plans.flatMap((p) => p.loggers);
    const rsd = plans.reduce((n, p) => n + p.rsd.length, 0);
    const vapor = plans.reduce((n, p) => n + p.vapor.length, 0);
    if (rsd) lines.push(`  remote sensing ${rsd} SIM-RSD site(s) pushing vehicle passes to the gateways' http links`);
    if (vapor)
      lines.push(
        `  vapour       ${vapor} SIM-VAPOR station(s) (${vapor * counts.nozzles} nozzles) pushing to the gateways' http links every 10 s`,
      );
    if (all.length)
      lines.push(`  HJ 212       ${all.length} logger(s) uploading to the gateways' hj212 links: ${byClassText(all)}`);
  }
  for (const l of lines) say(l);
  return gateways;
}

/** "2 air.station (ST 22, every 60 s), …": the loggers by class. */
function byClassText(sites: FieldSite[]): string {
  const n = new Map<LoggerClass, number>();
  for (const s of sites) n.set(s.cls, (n.get(s.cls) ?? 0) + 1);
  return [...n].map(([c, k]) => `${k} ${c} (ST ${LOGGER_CLASSES[c].st}, every ${LOGGER_CLASSES[c].rtS} s)`).join(', ');
}

/**
 * Ingest's device settings for the simulated network, written at each start: drinking-water sources are
 * held to GB 3838 class II (a source's first-level protection zone), river sections to the default III.
 */
function writeDeviceSettings(dir: string, counts: NetworkCounts): string {
  const file = join(dir, 'stack-devices.yaml');
  const sources = loggersOf(counts).filter((s) => s.kind === 'water.source');
  const lines = sources.map((s) => `  ${s.id}: { target_class: 2 }`);
  writeFileSync(file, `# Written by qingcheng stack at each start.\ndevices:\n${lines.join('\n') || '  {}'}\n`);
  return file;
}

const DEFAULT_INSTRUMENTS = 'SONBEST-SM7901B,YSI-ODO,INSITU-AQUATROLL400';

function scaleOf(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x <= 1)) throw new UsageError(`--scale: expected a fraction in (0, 1], got ${v}`);
  return x;
}

/** One /metrics for every part the stack hosts, labelled by gateway and worker. */
async function serveStackMetrics(
  port: number,
  broker: Broker,
  workers: IngestWorker[],
  gateways: Gateway[],
  stops: Stop[],
): Promise<number> {
  const metrics = new Metrics().addBroker(broker);
  for (const w of workers) metrics.addIngest(ingestSource(w));
  for (const g of gateways) metrics.addGateway(g);
  const served = await serveMetrics(metrics, port);
  stops.push(() => served.close());
  say(`  metrics      http://127.0.0.1:${served.port}/metrics`);
  return served.port;
}

/** The private influxd (installed first where we may), or the one --influx-url names; its base URL. */
async function database(a: Args, port: number, dir: string, stops: Stop[]): Promise<string> {
  // Ingest creates the database on a server that lacks it.
  if (a['influx-url']) {
    say(`  InfluxDB     ${a['influx-url']}`);
    return a['influx-url'];
  }
  if (!influxdPath()) await obtainInfluxd(say);
  const influx = new Influxd(join(dir, 'influxdb'), a.db!, { port });
  // Registered before it starts: a start that fails half-way still stops the child it spawned.
  stops.push(() => influx.stop());
  await influx.start();
  say(`  influxd      ${influx.url}  (data in ${influx.dir})`);
  return influx.url;
}

/** Lines a user can paste as printed on a fresh machine (no influx client, no mosquitto-clients, qingcheng not on PATH). */
function printHowTo(
  mqttUrl: string,
  operatorPassword: string,
  consolePort: number,
  influxUrl: string,
  db: string,
): void {
  const query = (q: string) => `  curl -sG ${influxUrl}/query --data-urlencode db=${db} --data-urlencode "q=${q}"`;
  say('');
  say(`Operator console: http://127.0.0.1:${consolePort}/  (user "operator", password "${operatorPassword}")`);
  say(`Operator login for MQTT clients: ${mqttUrl}, user "operator", password "${operatorPassword}", topics env/v1/#`);
  say('Watch the network:');
  say(`  ${qingchengCommand()} watch --mqtt ${mqttUrl} --password '${operatorPassword}'`);
  say('Query the data:');
  say(query('SELECT * FROM air ORDER BY time DESC LIMIT 5'));
  say(query('SELECT last(pm25), max(pm25) FROM air GROUP BY dev'));
  say('Ctrl-C stops everything.\n');
}

/** How to run `qingcheng` from the user's shell: `npx` finds it inside the checkout; elsewhere, by its path. */
function qingchengCommand(): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const rel = relative(root, process.cwd());
  return rel.startsWith('..') || isAbsolute(rel) ? `node ${join(root, 'bin/qingcheng.js')}` : 'npx qingcheng';
}

/** The live one-line summary: rates over the last second and totals. */
class Summary {
  private last = { sampled: 0, written: 0, t: Date.now() };
  private tty = process.stdout.isTTY;
  private lines = 0;

  constructor(
    private gateways: Gateway[],
    private workers: IngestWorker[],
  ) {}

  print(): void {
    const sampled = this.gateways.reduce(
      (s, g) => s + g.stats.sampled + g.inputs.reduce((t, i) => t + i.stats.accepted, 0),
      0,
    );
    const written = this.workers.reduce((s, w) => s + w.o.sink.stats.written, 0);
    const depth = this.gateways.reduce((s, g) => s + g.outbox.depth, 0);
    const errors =
      this.gateways.reduce((s, g) => s + g.stats.pollErrors, 0) +
      this.workers.reduce(
        (s, w) => s + w.o.sink.stats.retries + w.stats.rejectedEnvelopes + w.stats.rejectedRecords,
        0,
      );
    const dt = (Date.now() - this.last.t) / 1000;
    const line =
      `sampled ${((sampled - this.last.sampled) / dt).toFixed(1)}/s (total ${sampled})  written ${((written - this.last.written) / dt).toFixed(1)}/s (total ${written})  outbox ${depth}  errors ${errors}` +
      (this.workers.some((w) => w.o.sink.stats.failing) ? '  DATABASE DOWN, buffering' : '');
    this.last = { sampled, written, t: Date.now() };
    // On a terminal the line rewrites itself; in a log it is printed every 10 s.
    if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (this.lines++ % 10 === 0) process.stdout.write(line + '\n');
  }
}

/** `--instruments NAME[:N],…`: units of device-library templates the stack simulates and polls. */
function instrumentsOf(list: string): { def: Template; units: number }[] {
  return list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((item) => {
      const [name, n] = item.split(':');
      const def = templateNamed(name!, '--instruments');
      return { def, units: n === undefined ? 1 : int(n, 'instruments', 1) };
    });
}
