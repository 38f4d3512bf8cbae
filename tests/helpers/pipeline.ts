// A real pipeline for integration tests: influxd, the Aedes broker, simulated stations, and the
// gateway and ingest as child processes (so they can be killed with SIGKILL), each on free ports
// in a throw-away directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Broker } from '../../broker/server.ts';
import { hashPassword, mosquittoHash, type Role, type User } from '../../broker/users.ts';
import { Influxd } from '../../cli/services/influxd.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { waitFor } from '../../cli/services/ports.ts';
import { applyFaults, gatewayConfigFor } from '../../cli/simulate.ts';
import {
  decodeAlert,
  decodeIngestState,
  decodeStatus,
  type AlarmEvent,
  type IngestRunning,
  type OnlineStatus,
} from '../../protocol/messages.ts';
import type { Served } from '../../simulators/modbus-server.ts';
import { AirFleet } from '../../simulators/stations.ts';
import { realClockEnv } from './clock.ts';
import { Mosquitto } from './mosquitto.ts';
import { ptyPair, type PtyPair } from './socat.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/qingcheng.js');

export const PASSWORDS = {
  gateway: 'gw-secret',
  ingest: 'ingest-secret',
  operator: 'op-secret',
  admin: 'admin-secret',
};

/** The bearer token of the test gateway's http link. */
export const PUSH_TOKEN = 'test-push-token';

/** The test users, with cheap hashes: ours, and Mosquitto's for a Mosquitto export. */
export async function makeUsers(gateways: string[]): Promise<User[]> {
  const user = async (username: string, role: Role): Promise<User> => ({
    username,
    role,
    password: await hashPassword(PASSWORDS[role], 1024),
    mosquitto: await mosquittoHash(PASSWORDS[role], 101),
  });
  const users: User[] = [];
  for (const gw of gateways) users.push(await user(gw, 'gateway'));
  for (const role of ['ingest', 'operator', 'admin'] as const) users.push(await user(role, role));
  return users;
}

/** A child `qingcheng` process whose output is kept for the failure message. */
export class Proc {
  child: ChildProcess;
  output = '';
  exited: Promise<number | null>;

  /**
   * With `realClock`, the process keeps the real clock under faketime (for sample times pinned in the past).
   * `nodeArgs` go to node itself (e.g. --cpu-prof, which NODE_OPTIONS does not take).
   */
  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string> = {},
    o: { realClock?: boolean; nodeArgs?: string[] } = {},
  ) {
    const base = o.realClock ? realClockEnv() : process.env;
    this.child = spawn(process.execPath, [...(o.nodeArgs ?? []), BIN, ...args], {
      env: { ...base, QINGCHENG_LOG: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/** An ingest worker as its own process, logged in as the test users' ingest user, with `args` after the login. */
export function ingestProc(mqttPort: number, args: string[], o: { realClock?: boolean } = {}): Proc {
  const login = ['--mqtt', `mqtt://127.0.0.1:${mqttPort}`, '--username', 'ingest', '--password', PASSWORDS.ingest];
  return new Proc('ingest', ['ingest', ...login, ...args], {}, o);
}

export interface PipelineOptions {
  stations?: number;
  cems?: number;
  /** Extra ingest options (alarm timing, …). */
  ingestArgs?: string[];
  pollMs?: number;
  republishS?: number;
  gateway?: string;
  /** Ingest's database options instead of the private influxd's (which is then not started). */
  sinkArgs?: string[];
  /** Remote-sensing devices pushing to the gateway's http link (at `pushUrl`). */
  rsd?: (string | { id: string; kind: string })[];
  /** Keep the broker's state in this Redis (redis://…). */
  redis?: string;
  /** With `redis`: a second broker on the same Redis, listed second in the gateway's URLs; ingest and the watcher use it. */
  failover?: boolean;
  /** Serve the stations as RTU slaves on one end of a socat pty pair, polled by the gateway on the other. */
  serial?: boolean;
  /** Faults of simulated units set before the gateway starts, as `simulate --fault` takes them (`aq-2001=silent`). */
  faults?: string;
  /** HJ 212 loggers uploading to the gateway's hj212 link (at port `hj212Port`). */
  hj212?: { id: string; kind: string; mn: string; codes?: Record<string, string>; sm4Key?: string }[];
  /** Run Mosquitto configured by `broker export --mosquitto` instead of our broker. */
  mosquitto?: boolean;
  /** The hj212 link's `history:` settings. */
  hj212History?: Record<string, unknown>;
}

export class Pipeline {
  dir = mkdtempSync(join(tmpdir(), 'qingcheng-'));
  influx = new Influxd(join(this.dir, 'influxdb'));
  broker!: Broker;
  /** The Mosquitto of the mosquitto option (then there is no `broker`). */
  mosquitto?: Mosquitto;
  mqttPort = 0;
  users!: User[];
  fleet = new AirFleet();
  served: Served[] = [];
  gateway?: Proc;
  ingest?: Proc;
  gwId: string;
  gwConfig = join(this.dir, 'gateway.yaml');
  /** Where the gateway's http link takes pushed records (with the rsd option). */
  pushUrl = '';
  /** The bearer token its http link requires. */
  readonly pushToken = PUSH_TOKEN;
  /** The port of the gateway's hj212 link (with the hj212 option). */
  hj212Port = 0;
  /** The pty pair of the serial option. */
  pty?: PtyPair;
  /** The gateway's latest status/{gw} while online, seen by an operator client (undefined until the first). */
  status!: OnlineStatus;
  /** Whether its latest status/{gw} said online (its last will says offline). */
  online = false;
  /** Alarm events seen on alert/+, in order. */
  alerts: AlarmEvent[] = [];
  /** Each start of an ingest worker, as announced on sys/ingest/+/state. */
  ingestStarts: IngestRunning[] = [];
  private watcher?: MqttClient;
  /** Timers of flaky units (the faults option). */
  private faultTimers: NodeJS.Timeout[] = [];

  constructor(readonly o: PipelineOptions = {}) {
    this.gwId = o.gateway ?? 'gw-test-01';
  }

  async start(): Promise<this> {
    if (!this.o.sinkArgs) await this.influx.start();
    this.users = await makeUsers([this.gwId]);
    await this.startBroker();
    if (this.o.failover) {
      this.broker2 = await new Broker({ port: 0, users: this.users, redis: this.o.redis! }).start();
      this.mqttPort2 = this.broker2.port;
    }
    if (this.o.serial) this.pty = await ptyPair(this.dir);
    await this.fleet.start({
      stations: this.o.stations ?? 4,
      cems: this.o.cems ?? 0,
      unitsPerServer: 2,
      basePort: 0,
      seed: 2000,
      ...(this.pty ? { serial: { device: this.pty.a, baudRate: 19200 } } : {}),
    });
    for (const s of this.fleet.servers) s.onServe = (x) => this.served.push(x);
    if (this.o.faults) this.faultTimers = applyFaults(this.fleet, this.o.faults);
    // Push links listen on port 0; the ports come back in the gateway's status (see listenPorts).
    const yaml = gatewayConfigFor(this.gwId, this.fleet.endpoints, {
      ...(this.o.rsd ? { rsd: { listen: '127.0.0.1:0', devices: this.o.rsd, token: PUSH_TOKEN } } : {}),
      ...(this.o.hj212
        ? {
            hj212: {
              listen: '127.0.0.1:0',
              devices: this.o.hj212,
              ...(this.o.hj212History ? { history: this.o.hj212History } : {}),
            },
          }
        : {}),
      ...(this.pty ? { serialPeer: this.pty.b } : {}),
      mqtt: {
        url: this.o.failover
          ? [`mqtt://127.0.0.1:${this.mqttPort}`, `mqtt://127.0.0.1:${this.mqttPort2}`]
          : `mqtt://127.0.0.1:${this.mqttPort}`,
        password: PASSWORDS.gateway,
        republish_s: this.o.republishS ?? 2,
        status_s: 1,
      },
      outbox: { path: join(this.dir, 'outbox.sqlite') },
    }).replace(/poll_ms: 1000/g, `poll_ms: ${this.o.pollMs ?? 250}`);
    writeFileSync(this.gwConfig, yaml);
    await this.watch();
    this.startIngest();
    this.startGateway();
    if (this.o.rsd || this.o.hj212) await this.listenPorts();
    return this;
  }

  /**
   * Waits for the gateway to say where its push links listen, and keeps those ports in its config, so a
   * restarted gateway listens where the devices already push (no free-port guess to race for).
   */
  private async listenPorts(): Promise<void> {
    const links = [...(this.o.rsd ? ['rsd-platform'] : []), ...(this.o.hj212 ? ['hj212-loggers'] : [])];
    await waitFor(
      "the gateway's push links to listen",
      () => links.every((l) => this.status?.listening?.[l] !== undefined),
      30_000,
    );
    const ports = this.status.listening!;
    if (this.o.rsd) this.pushUrl = `http://127.0.0.1:${ports['rsd-platform']}/records`;
    if (this.o.hj212) this.hj212Port = ports['hj212-loggers']!;
    const cfg = parseYaml(readFileSync(this.gwConfig, 'utf8')) as { links: { name: string; listen?: string }[] };
    for (const l of cfg.links) if (ports[l.name] !== undefined) l.listen = `127.0.0.1:${ports[l.name]}`;
    writeFileSync(this.gwConfig, stringifyYaml(cfg));
  }

  /** The second broker of the failover option. */
  broker2?: Broker;
  mqttPort2 = 0;
  /** Where ingest and the watcher connect: the second broker when there is one. */
  get consumerPort(): number {
    return this.broker2 ? this.mqttPort2 : this.mqttPort;
  }

  /** The broker listens on port 0 at first; a restart takes the same port again. */
  async startBroker(): Promise<void> {
    if (this.o.mosquitto) {
      this.mosquitto = await new Mosquitto(join(this.dir, 'mosquitto'), this.users).start();
      this.mqttPort = this.mosquitto.port;
      return;
    }
    this.broker = await new Broker({
      port: this.mqttPort,
      users: this.users,
      ...(this.o.redis ? { redis: this.o.redis } : {}),
    }).start();
    this.mqttPort = this.broker.port;
  }

  /** An operator client that follows the gateway's retained status. */
  private async watch(): Promise<void> {
    this.watcher = mqtt.connect(`mqtt://127.0.0.1:${this.consumerPort}`, {
      username: 'operator',
      password: PASSWORDS.operator,
      reconnectPeriod: 200,
    });
    this.watcher.on('connect', () =>
      this.watcher!.subscribe([`env/v1/status/${this.gwId}`, 'env/v1/alert/+', 'env/v1/sys/ingest/+/state'], {
        qos: 1,
      }),
    );
    this.watcher.on('message', (t, p, packet) => {
      if (t.endsWith('/state')) {
        const s = decodeIngestState(p);
        if (s.state === 'running' && !packet.retain) this.ingestStarts.push(s);
      } else if (!t.includes('/alert/')) {
        const s = decodeStatus(p);
        this.online = s.state === 'online';
        if (s.state === 'online') this.status = s;
      } else if (!packet.retain) {
        const e = decodeAlert(p)?.event;
        if (e) this.alerts.push(e);
      }
    });
    await new Promise<void>((r) => this.watcher!.once('connect', () => r()));
  }

  startIngest(): Proc {
    this.ingest = ingestProc(this.consumerPort, [
      '--flush-ms',
      '100',
      ...(this.o.sinkArgs ?? ['--influx-url', this.influx.url]),
      ...(this.o.ingestArgs ?? []),
    ]);
    return this.ingest;
  }

  startGateway(): Proc {
    this.gateway = new Proc('gateway', ['gateway', '--config', this.gwConfig]);
    return this.gateway;
  }

  async count(): Promise<number> {
    const rows = await this.influx.rows(`SELECT count(seq) FROM air WHERE gw = '${this.gwId}'`);
    return Number(rows[0]?.count ?? 0);
  }

  /** Waits until InfluxDB holds at least `n` records of the gateway. */
  async waitForRecords(n: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${n} records in InfluxDB`, async () => (await this.count()) >= n, timeoutMs, 200).catch((e) =>
      this.fail(e),
    );
  }

  /** Waits until ingest has acknowledged at least `n` of the gateway's records (any database). */
  async waitForAcked(n: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${n} records acknowledged`, () => this.status?.acked >= n - 1, timeoutMs, 100).catch((e) =>
      this.fail(e),
    );
  }

  /** A timeout's error with what the processes said by then. */
  private fail(e: Error): never {
    const tail = (p?: Proc) => p?.output.slice(-3000) ?? '(not started)';
    throw new Error(
      `${e.message}\nstatus: ${JSON.stringify(this.status)}\ngateway: ${tail(this.gateway)}\ningest: ${tail(this.ingest)}`,
    );
  }

  /** Stops the instruments, then waits until the gateway's outbox is empty and everything is acknowledged. */
  async drain(timeoutMs = 90_000): Promise<{ nextSeq: number }> {
    await this.fleet.stop();
    // A status taken after every read in progress at the stop has ended (each times out within 1 s).
    const settledAt = Date.now() + 1500;
    await waitFor(
      'the outbox to drain',
      () => {
        const s = this.status;
        return this.online && s.ts >= settledAt && s.outbox.depth === 0 && s.acked === s.next_seq - 1 && s.next_seq > 0;
      },
      timeoutMs,
      200,
    ).catch((e) => this.fail(e));
    return { nextSeq: this.status.next_seq };
  }

  async stop(): Promise<void> {
    for (const t of this.faultTimers) clearInterval(t);
    await this.gateway?.kill();
    await this.ingest?.kill();
    this.watcher?.end(true);
    await this.broker?.stop().catch(() => undefined);
    await this.mosquitto?.stop();
    await this.broker2?.stop().catch(() => undefined);
    await this.fleet.stop().catch(() => undefined);
    await this.pty?.stop();
    await this.influx.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
