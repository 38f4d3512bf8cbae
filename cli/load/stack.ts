// The stack a load run starts for itself: a private influxd, the broker and N ingest workers, each as its
// own process (so its CPU and memory can be read from /proc), on free ports in a throw-away directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { hashPassword } from '../../broker/users.ts';
import { CliError } from '../args.ts';
import { Influxd } from '../services/influxd.ts';
import { freePort, waitFor } from '../services/ports.ts';
import { findPid } from './proc-stats.ts';

const BIN = fileURLToPath(new URL('../../bin/qingcheng.js', import.meta.url));

/** A `qingcheng` child process, with the tail of its output for error messages. */
export class Child {
  readonly proc: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: string[],
  ) {
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and a stopped run
    // still drains and audits through these processes. If we exit without stopping it, it goes with us.
    this.proc = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, QINGCHENG_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const orphaned = () => this.proc.kill('SIGTERM');
    process.once('exit', orphaned);
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-8000);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code) => {
        process.off('exit', orphaned);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}

export interface LoadStackOptions {
  gateways: string[];
  password: string;
  workers: number;
  shards: number;
  progress: (s: string) => void;
  /**
   * The broker's connection attempts per address (burst, then a second). Default: raised past the fleet,
   * as every load gateway connects from 127.0.0.1.
   */
  connectLimits?: { burst: number; perSecond: number };
}

export class LoadStack {
  readonly dir = mkdtempSync(join(tmpdir(), 'qingcheng-load-'));
  readonly influx = new Influxd(join(this.dir, 'influxdb'), 'qingcheng');
  broker?: Child;
  workers: Child[] = [];
  mqttUrl = '';
  /** The broker's /health (its clients and refusals by kind). */
  healthUrl = '';
  influxPid: number | null = null;
  private brokerPort = 0;
  private healthPort = 0;

  constructor(readonly o: LoadStackOptions) {}

  async start(): Promise<this> {
    const { o } = this;
    await this.influx.start();
    this.influxPid = findPid(join(this.dir, 'influxdb', 'influxd.conf'));
    // A cheap scrypt cost: these users live as long as the run, and every gateway logs in at once.
    const users = await Promise.all(
      [...o.gateways.map((g) => [g, 'gateway'] as const), ['ingest', 'ingest'] as const].map(
        async ([username, role]) => ({ username, role, password: await hashPassword(o.password, 1024) }),
      ),
    );
    writeFileSync(join(this.dir, 'users.yaml'), stringify({ users }), { mode: 0o600 });
    this.brokerPort = await freePort();
    this.healthPort = await freePort();
    this.mqttUrl = `mqtt://127.0.0.1:${this.brokerPort}`;
    this.healthUrl = `http://127.0.0.1:${this.healthPort}/health`;
    await this.startBroker();
    o.progress(`broker ${this.mqttUrl}, influxd ${this.influx.url}; starting ${o.workers} ingest worker(s)`);
    for (let i = 0; i < o.workers; i++) {
      this.workers.push(
        new Child(`ingest-${i}`, [
          'ingest',
          '--mqtt',
          this.mqttUrl,
          '--password',
          o.password,
          '--index',
          String(i),
          '--workers',
          String(o.workers),
          '--shards',
          String(o.shards),
          '--influx-url',
          this.influx.url,
        ]),
      );
    }
    // Gateways publish only once every worker has subscribed: an envelope before that goes nowhere.
    for (const w of this.workers)
      await this.waitUp(`${w.name} to subscribe`, w, () => w.output.includes('ingest running'));
    return this;
  }

  /** Starts the broker on the port of the first start: a restart takes the same address. */
  private async startBroker(restart = false): Promise<void> {
    const { o } = this;
    // Every gateway connects from 127.0.0.1 at once: raise the per-address limits past the fleet.
    const raised = o.gateways.length + o.workers + 10;
    const limits = o.connectLimits ?? { burst: raised, perSecond: raised };
    this.broker = new Child('broker', [
      'broker',
      '--users',
      join(this.dir, 'users.yaml'),
      '--port',
      String(this.brokerPort),
      '--host',
      '127.0.0.1',
      '--health-port',
      String(this.healthPort),
      '--shards',
      String(o.shards),
      '--connect-burst',
      String(limits.burst),
      '--connect-rate',
      String(limits.perSecond),
    ]);
    const broker = this.broker;
    // Listening is when its /health answers (it opens after the MQTT port); a login may wait behind a
    // storm of others, so taking logins is checked only at the first start.
    if (restart) return this.waitUp('the broker to listen', broker, async () => (await fetch(this.healthUrl)).ok);
    await this.waitUp('the broker to take logins', broker, async () => {
      const c = await mqtt.connectAsync(this.mqttUrl, {
        clientId: 'ingest-probe',
        username: 'ingest',
        password: o.password,
        reconnectPeriod: 0,
        connectTimeout: 2000,
      });
      await c.endAsync();
      return true;
    });
  }

  /**
   * Kills the broker with SIGKILL (no goodbye to anyone: sessions, queues and retained messages held in
   * its memory are gone) and starts it again on the same port, as after a crash and a supervisor's restart.
   * `upAt`: when it listens again.
   */
  async restartBroker(): Promise<{ killedAt: number; upAt: number }> {
    const old = this.broker!;
    old.proc.kill('SIGKILL');
    await old.exited;
    const killedAt = Date.now();
    await this.startBroker(true);
    return { killedAt, upAt: Date.now() };
  }

  private async waitUp(what: string, c: Child, check: () => Promise<boolean> | boolean): Promise<void> {
    const died = () => new CliError(`${c.name} exited during start-up:\n${c.output.slice(-2000)}`);
    let up = false;
    await Promise.race([
      waitFor(what, check, 30_000, 100).then(
        () => {
          up = true;
        },
        (e: Error) => {
          throw c.running ? new CliError(`${e.message}\n${c.name}: ${c.output.slice(-2000)}`) : died();
        },
      ),
      c.exited.then(() => {
        if (!up) throw died();
      }),
    ]);
  }

  /** The processes it started, for CPU and memory figures. */
  processes(): { name: string; pid: number }[] {
    return [
      ...(this.influxPid ? [{ name: 'influxd', pid: this.influxPid }] : []),
      ...(this.broker ? [{ name: 'broker', pid: this.broker.pid }] : []),
      ...this.workers.map((w) => ({ name: w.name, pid: w.pid })),
    ];
  }

  /** Workers first, so they write what they hold while the broker and the database are still up. */
  async stop(keep = false): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    await this.broker?.stop();
    await this.influx.stop();
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
