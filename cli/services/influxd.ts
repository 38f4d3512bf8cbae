// A private influxd (Debian's `influxdb` package, InfluxDB 1.x) with its data in a directory of ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../args.ts';
import { commandPath, InfluxdMissing } from './influxd-install.ts';
import { freePort, portIsFree, waitFor } from './ports.ts';

export { InfluxdMissing } from './influxd-install.ts';

export function influxdPath(): string | null {
  return commandPath('influxd');
}

export interface InfluxdOptions {
  /** HTTP port; 0 (the default) = a free port. */
  port?: number;
  /** Create the database at start (the default); off to test what meets a server without it. */
  createDatabase?: boolean;
  /** How a free port is picked (freePort); a test gives one that loses the race on purpose. */
  pickPort?: () => Promise<number>;
}

/** A picked port that something else took before influxd could bind it. */
class PortTaken extends Error {}

/** Start-ups tried on freshly picked ports before giving up. */
const PICK_ATTEMPTS = 5;

export class Influxd {
  private proc?: ChildProcess;
  port = 0;
  private rpcPort = 0;
  exited?: Promise<void>;

  constructor(
    readonly dir: string,
    readonly db = 'qingcheng',
    private o: InfluxdOptions = {},
  ) {
    this.port = o.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Starts influxd. Ports it picks (not chosen with --influx-port) were free a moment before influxd
   * binds them: if something takes one first, influxd exits or another server answers, and it is
   * started again on newly picked ports. A restart keeps its ports.
   */
  async start(): Promise<this> {
    const bin = influxdPath();
    if (!bin) throw new InfluxdMissing();
    // influxd would only log a taken port and exit; this says which option to change.
    if (this.o.port && !this.proc)
      await portIsFree(this.o.port, 'stop what holds it, or choose another --influx-port (0 picks a free one)');
    mkdirSync(this.dir, { recursive: true });
    const [pickHttp, pickRpc] = [!this.port, !this.rpcPort];
    const pick = this.o.pickPort ?? (() => freePort());
    for (let attempt = 1; ; attempt++) {
      if (pickHttp) this.port = await pick();
      if (pickRpc) this.rpcPort = await pick();
      try {
        await this.launch(bin);
        break;
      } catch (e) {
        if (!(e instanceof PortTaken) || !(pickHttp || pickRpc) || attempt === PICK_ATTEMPTS)
          throw e instanceof PortTaken ? new CliError(e.message) : e;
      }
    }
    if (this.o.createDatabase !== false) await this.query(`CREATE DATABASE "${this.db}"`, 'POST');
    return this;
  }

  /** One start-up on this.port and this.rpcPort; PortTaken when another process holds either. */
  private async launch(bin: string): Promise<void> {
    const conf = join(this.dir, 'influxd.conf');
    writeFileSync(
      conf,
      `reporting-disabled = true
bind-address = "127.0.0.1:${this.rpcPort}"
[meta]
  dir = "${join(this.dir, 'meta')}"
[data]
  dir = "${join(this.dir, 'data')}"
  wal-dir = "${join(this.dir, 'wal')}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${this.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`,
    );
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and influxd must
    // outlive it until ingest has written what it holds. If we exit without stopping it, it goes with us.
    const proc = spawn(bin, ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.proc = proc;
    const orphaned = () => proc.kill('SIGTERM');
    process.once('exit', orphaned);
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        process.off('exit', orphaned);
        resolve();
      }),
    );
    let dead = false;
    void this.exited.then(() => {
      dead = true;
    });
    const died = () =>
      /address already in use/.test(stderr)
        ? new PortTaken(`influxd could not bind port ${this.port} or ${this.rpcPort}: ${stderr.trim().slice(-300)}`)
        : new CliError(`influxd exited during start-up:\n${stderr.trim()}`);
    await waitFor(
      `influxd on port ${this.port}`,
      // An influxd that exited ends the wait at once (waitFor retries what throws).
      async () => dead || (await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(2000) })).status === 204,
      30_000,
    ).catch(async (e) => {
      if (dead) throw died();
      await this.stop();
      throw e;
    });
    if (dead) throw died();
    // A /ping is any InfluxDB's: this one is ours if it keeps its metadata in our directory.
    if (!(await this.isOurs())) {
      await this.stop();
      throw new PortTaken(`port ${this.port} is another server's (its data is not in ${this.dir})`);
    }
  }

  /** Whether the server on this.port keeps its metadata in this.dir (SHOW DIAGNOSTICS names the dir). */
  private async isOurs(): Promise<boolean> {
    try {
      const r = await this.query('SHOW DIAGNOSTICS');
      const meta = r.results[0]?.series?.find((x) => x.name === 'config-meta');
      return meta?.values[0]?.[meta.columns.indexOf('dir')] === join(this.dir, 'meta');
    } catch {
      return false;
    }
  }

  /** Runs InfluxQL; returns the parsed JSON. */
  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxResult> {
    const params = new URLSearchParams({ q, db: this.db, epoch: 'ms' });
    const res = await fetch(`${this.url}/query?${params}`, { method });
    if (!res.ok) throw new Error(`influx query failed: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as InfluxResult;
  }

  /** Rows of the first series of a query as objects. */
  async rows(q: string): Promise<Record<string, unknown>[]> {
    const r = await this.query(q);
    const out: Record<string, unknown>[] = [];
    for (const s of r.results[0]?.series ?? []) {
      for (const v of s.values) out.push({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) });
    }
    return out;
  }

  /** Stops it (SIGKILL: as a crash would); start() brings it back on the same port and data. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.exited;
  }
}

export interface InfluxResult {
  results: {
    series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
    error?: string;
  }[];
}
