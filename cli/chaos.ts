// `qingcheng chaos`: the whole network as separate processes on this machine, random faults for as
// long as asked, then an audit of every sequence number in InfluxDB against what the gateways numbered.
// Prints one JSON report on stdout (progress on stderr) and exits 1 when anything was lost or duplicated.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import mqtt from 'mqtt';
import { addUser, type Role } from '../broker/users.ts';
import { decodeStatus, type OnlineStatus } from '../protocol/messages.ts';
import { DEVICE_KINDS } from '../protocol/kinds.ts';
import { Topics } from '../protocol/topics.ts';
import { AirFleet } from '../simulators/stations.ts';
import { hash01 } from '../simulators/random.ts';
import { CliError, int, parse } from './args.ts';
import { Child } from './services/child.ts';
import { Influxd } from './services/influxd.ts';
import { freePort, waitFor } from './services/ports.ts';
import { TcpProxy } from './services/tcp-proxy.ts';
import { gatewayConfigFor } from './simulate.ts';

const USAGE = `Usage: qingcheng chaos [options]

Starts influxd, the broker, an ingest worker and gateways polling simulated stations, each as its own
process, with the gateways' link to the broker and ingest's link to influxd through proxies it controls.
For --minutes it injects faults one at a time, every kind once in each round of seven, in random order: kill -9 of ingest, of the broker and of a gateway,
influxd stopped and killed, the gateways' link cut, a slow database. Then it stops the stations, waits
until every gateway has its records acknowledged, and audits every sequence number in InfluxDB:
{"lost":0,"duplicated":0,…} on stdout, exit 1 if either is not 0.`;

const OPTS = {
  minutes: { type: 'string', default: '10', help: 'how long faults are injected' },
  gateways: { type: 'string', default: '3', help: 'gateways, each its own process' },
  stations: { type: 'string', default: '4', help: 'SIM-AQ6 stations per gateway, polled every second' },
  'fault-every': { type: 'string', default: '15', help: 'mean seconds between the start of one fault and the next' },
  seed: { type: 'string', help: 'random seed of the fault schedule (default: a new one, printed)' },
  dir: { type: 'string', help: 'working directory (default: a new temporary one, removed at the end)' },
  keep: { type: 'boolean', help: 'keep the working directory (logs, outboxes, database) for a post-mortem' },
  'drain-timeout': { type: 'string', default: '300', help: 'seconds to wait for every record to be acknowledged' },
} as const;

const FAULTS = [
  'kill-ingest',
  'kill-broker',
  'kill-gateway',
  'stop-influxd',
  'kill-influxd',
  'cut-link',
  'slow-db',
] as const;
type Fault = (typeof FAULTS)[number];

interface FaultRecord {
  at_s: number;
  fault: Fault;
  target: string;
  for_s: number;
}

export interface GatewayAudit {
  gw: string;
  /** Records acknowledged by its last status (watermark + 1): all of `numbered` when drained. */
  acked: number;
  /** Seqs the gateway gave out (0 … next_seq − 1). */
  numbered: number;
  evicted: number;
  stored: number;
  lost: number;
  duplicated: number;
}

/** Where records are stored (docs/protocol.md §7.2): the seqs to audit; derived points carry none. */
const DEVICE_MEASUREMENTS = [...new Set(Object.values(DEVICE_KINDS))].map((m) => `"${m}"`).join(', ');

const say = (line: string) => process.stderr.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, USAGE, OPTS);
  const minutes = Number(a.minutes);
  if (!(minutes > 0)) throw new CliError(`--minutes: expected a positive number, got ${a.minutes}`, 2);
  const nGw = int(a.gateways, 'gateways', 1);
  const perGw = int(a.stations, 'stations', 1);
  const every = int(a['fault-every'], 'fault-every', 1);
  const seed = a.seed !== undefined ? int(a.seed, 'seed') : randomBytes(2).readUInt16BE();
  const dir = a.dir ? resolve(a.dir) : mkdtempSync(join(tmpdir(), 'qingcheng-chaos-'));
  const network = await Network.start(dir, nGw, perGw);
  say(`chaos: ${nGw} gateway(s) × ${perGw} stations, faults for ${minutes} min, seed ${seed}; logs in ${dir}`);
  let report;
  try {
    const faults = await network.inject(minutes * 60_000, every * 1000, seed);
    say('chaos: faults over; stations stopped, waiting for every record to be acknowledged');
    const drain = await network.drain(int(a['drain-timeout'], 'drain-timeout', 1) * 1000);
    const gateways = await network.audit();
    const sum = (k: keyof GatewayAudit) => gateways.reduce((n, g) => n + (g[k] as number), 0);
    report = {
      minutes,
      seed,
      faults,
      drained: drain.ok,
      drain_s: drain.seconds,
      records: sum('numbered'),
      stored: sum('stored'),
      evicted: sum('evicted'),
      lost: sum('lost'),
      duplicated: sum('duplicated'),
      gateways,
    };
  } finally {
    await network.stop();
    if (!a.dir && !a.keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report) + '\n');
  if (report.lost || report.duplicated || !report.drained) process.exitCode = 1;
}

/** The k-th fault: every kind once in each round of seven, in an order drawn from the seed. */
export function faultAt(seed: number, k: number): Fault {
  const round = Math.floor(k / FAULTS.length);
  const order = [...FAULTS].sort(
    (x, y) => hash01(seed, round, FAULTS.indexOf(x)) - hash01(seed, round, FAULTS.indexOf(y)),
  );
  return order[k % FAULTS.length]!;
}

/** Every part of the network, as processes and proxies this command controls. */
class Network {
  gwIds: string[];
  private status = new Map<string, OnlineStatus & { at: number }>();
  private operator?: mqtt.MqttClient;

  private constructor(
    private influx: Influxd,
    private dbProxy: TcpProxy,
    private brokerPort: number,
    private broker: Child,
    private link: TcpProxy,
    private ingest: Child,
    private fleet: AirFleet,
    private gateways: Child[],
  ) {
    this.gwIds = gateways.map((g) => g.name);
  }

  static async start(dir: string, nGw: number, perGw: number): Promise<Network> {
    const pw = randomBytes(9).toString('base64url');
    const users = join(dir, 'users.yaml');
    const gwIds = Array.from({ length: nGw }, (_, i) => `gw-chaos-${i + 1}`);
    const roles: [string, Role][] = [
      ['ingest', 'ingest'],
      ['operator', 'operator'],
      ...gwIds.map((g): [string, Role] => [g, 'gateway']),
    ];
    for (const [u, role] of roles) await addUser(users, u, role, pw);

    const influx = await new Influxd(join(dir, 'influxdb')).start();
    const dbProxy = await new TcpProxy({ host: '127.0.0.1', port: influx.port }).listen();
    const brokerPort = await freePort();
    const log = (name: string) => join(dir, `${name}.log`);
    const broker = new Child(
      'broker',
      ['broker', '--port', String(brokerPort), '--host', '127.0.0.1', '--users', users, '--health-port', '0'],
      log('broker'),
    ).start();
    await portOpen(brokerPort);
    const link = await new TcpProxy({ host: '127.0.0.1', port: brokerPort }).listen();
    const ingest = new Child(
      'ingest',
      [
        'ingest',
        ...['--mqtt', `mqtt://127.0.0.1:${brokerPort}`, '--password', pw],
        ...['--influx-url', `http://127.0.0.1:${dbProxy.port}`, '--db', influx.db],
      ],
      log('ingest'),
    ).start();
    const fleet = await new AirFleet().start({ stations: nGw * perGw, unitsPerServer: perGw, basePort: 0 });
    const gateways = gwIds.map((id, g) => {
      const file = join(dir, `${id}.yaml`);
      const yaml = gatewayConfigFor(id, fleet.endpoints.slice(g * perGw, (g + 1) * perGw), {
        mqtt: { url: `mqtt://127.0.0.1:${link.port}`, password: pw, republish_s: 5, status_s: 2 },
        outbox: { path: join(dir, `${id}.outbox.sqlite`) },
      });
      writeFileSync(file, yaml, { mode: 0o600 });
      return new Child(id, ['gateway', '--config', file], log(id)).start();
    });
    const n = new Network(influx, dbProxy, brokerPort, broker, link, ingest, fleet, gateways);
    n.watch(pw);
    return n;
  }

  /** An operator's view of status/+, straight to the broker (not through the link that gets cut). */
  private watch(pw: string): void {
    const t = new Topics();
    this.operator = mqtt.connect(`mqtt://127.0.0.1:${this.brokerPort}`, {
      username: 'operator',
      password: pw,
      reconnectPeriod: 500,
    });
    this.operator.on('connect', () => this.operator!.subscribe(t.status('+'), { qos: 1 }));
    this.operator.on('message', (topic, payload) => {
      const gw = t.parse(topic)?.levels[0];
      if (!gw || !payload.length) return;
      try {
        const s = decodeStatus(payload);
        if (s.state === 'online') this.status.set(gw, { ...s, at: Date.now() });
      } catch {
        /* a status this version cannot read: the audit says so by never draining */
      }
    });
    this.operator.on('error', () => undefined);
  }

  /** Faults one at a time, at random, until `ms` have passed; returns what was done. */
  async inject(ms: number, everyMs: number, seed: number): Promise<FaultRecord[]> {
    const t0 = Date.now();
    const done: FaultRecord[] = [];
    for (let k = 0; ; k++) {
      const u = (i: number) => hash01(seed, k, i);
      await sleep(everyMs * (0.25 + 0.5 * u(0)));
      if (Date.now() - t0 >= ms) break;
      const fault = faultAt(seed, k);
      const r = await this.fault(fault, u);
      const rec = { at_s: Math.round((Date.now() - t0) / 1000), fault, ...r };
      say(`chaos: [${String(rec.at_s).padStart(4)} s] ${fault} ${rec.target} for ${rec.for_s} s`);
      await sleep(rec.for_s * 1000);
      await this.heal(fault, rec.target);
      done.push(rec);
      await sleep(everyMs * 0.25);
    }
    return done;
  }

  private async fault(f: Fault, u: (i: number) => number): Promise<{ target: string; for_s: number }> {
    const secs = (lo: number, hi: number) => Math.round(lo + (hi - lo) * u(2));
    switch (f) {
      case 'kill-ingest':
        await this.ingest.kill('SIGKILL');
        return { target: 'ingest', for_s: secs(1, 5) };
      case 'kill-broker':
        await this.broker.kill('SIGKILL');
        return { target: 'broker', for_s: secs(1, 5) };
      case 'kill-gateway': {
        const g = this.gateways[Math.floor(u(3) * this.gateways.length)]!;
        await g.kill('SIGKILL');
        return { target: g.name, for_s: secs(1, 5) };
      }
      case 'stop-influxd':
        await this.influx.stop('SIGTERM');
        return { target: 'influxd', for_s: secs(3, 15) };
      case 'kill-influxd':
        await this.influx.stop('SIGKILL');
        return { target: 'influxd', for_s: secs(2, 10) };
      case 'cut-link':
        this.link.cutAll();
        return { target: 'gateways↔broker', for_s: secs(3, 15) };
      case 'slow-db':
        this.dbProxy.slow(500 + Math.round(1500 * u(3)));
        return { target: 'ingest→influxd', for_s: secs(5, 15) };
    }
  }

  private async heal(f: Fault, target: string): Promise<void> {
    switch (f) {
      case 'kill-ingest':
        this.ingest.start();
        return;
      case 'kill-broker':
        this.broker.start();
        return portOpen(this.brokerPort);
      case 'kill-gateway':
        this.gateways.find((g) => g.name === target)!.start();
        return;
      case 'stop-influxd':
      case 'kill-influxd':
        await this.influx.start();
        return;
      case 'cut-link':
      case 'slow-db':
        this.link.heal();
        this.dbProxy.heal();
        return;
    }
  }

  /**
   * Stops the stations (no new records), then waits until every gateway says, in a status made after
   * that, that all it numbered is acknowledged.
   */
  async drain(timeoutMs: number): Promise<{ ok: boolean; seconds: number }> {
    await this.fleet.stop();
    const from = Date.now();
    const done = () =>
      this.gwIds.every((gw) => {
        const s = this.status.get(gw);
        return s !== undefined && s.at > from && s.acked === s.next_seq - 1;
      });
    const ok = await waitFor('every record acknowledged', done, timeoutMs, 500).then(
      () => true,
      () => false,
    );
    return { ok, seconds: Math.round((Date.now() - from) / 1000) };
  }

  /** Counts each gateway's seqs in InfluxDB, in every measurement that has them. */
  async audit(): Promise<GatewayAudit[]> {
    const out: GatewayAudit[] = [];
    for (const gw of this.gwIds) {
      const s = this.status.get(gw);
      const numbered = s?.next_seq ?? 0;
      const evicted = s?.outbox.evicted ?? 0;
      const r = await this.influx.query(
        `SELECT count("seq") AS n, count(distinct("seq")) AS d FROM ${DEVICE_MEASUREMENTS} WHERE "gw" = '${gw}'`,
      );
      if (r.results[0]?.error) throw new CliError(`the audit query failed: ${r.results[0].error}`);
      let n = 0;
      let d = 0;
      for (const series of r.results[0]?.series ?? []) {
        n += Number(series.values[0]?.[1] ?? 0);
        d += Number(series.values[0]?.[2] ?? 0);
      }
      out.push({
        gw,
        acked: (s?.acked ?? -1) + 1,
        numbered,
        evicted,
        stored: d,
        lost: Math.max(0, numbered - evicted - d),
        duplicated: n - d,
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.operator?.end(true);
    await Promise.all(this.gateways.map((g) => g.kill()));
    await this.ingest.kill();
    await this.broker.kill();
    await this.link.close();
    await this.dbProxy.close();
    await this.fleet.stop().catch(() => undefined);
    await this.influx.stop();
  }
}

function portOpen(port: number): Promise<void> {
  return waitFor(
    `port ${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    30_000,
  );
}
