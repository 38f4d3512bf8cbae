// A private Mosquitto 2.0 (Debian's `mosquitto`) configured by `qingcheng broker export --mosquitto`'s
// files, on a free port in a throw-away directory. It is ready when the process it started holds the
// port (tests/helpers/listening.ts), so a server another process put there is never taken for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { mosquittoExport } from '../../broker/mosquitto.ts';
import type { User } from '../../broker/users.ts';
import { freePort, waitFor } from '../../cli/services/ports.ts';
import { realClockEnv } from './clock.ts';
import { listensOn } from './listening.ts';

export class Mosquitto {
  private proc?: ChildProcess;
  private exited = false;
  port = 0;
  /** What mosquitto printed, for a failure message. */
  output = '';

  constructor(
    readonly dir: string,
    readonly users: User[],
    readonly o: { prefix?: string; shards?: number } = {},
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /**
   * Mosquitto cannot listen on port 0: a free port is picked, and picked again if another process took
   * it meanwhile (mosquitto then exits with "in use"). `pick` chooses the port to try (a test gives one
   * that is taken, to see the start pick again).
   */
  async start(pick: () => Promise<number> = () => freePort()): Promise<this> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOn(await pick());
      } catch (e) {
        if (attempt === 3 || !this.output.includes('in use')) throw e;
      }
    }
  }

  private async startOn(port: number): Promise<this> {
    this.port = port;
    this.output = '';
    this.exited = false;
    const data = join(this.dir, 'data');
    mkdirSync(data, { recursive: true });
    const files = mosquittoExport(this.users, {
      prefix: this.o.prefix ?? 'env/v1',
      shards: this.o.shards ?? 16,
      dir: this.dir,
      host: '127.0.0.1',
      port,
      persistenceDir: data,
    });
    writeFileSync(join(this.dir, 'passwd'), files.passwd, { mode: 0o600 });
    writeFileSync(join(this.dir, 'acl'), files.acl);
    // Started as root, Mosquitto would switch to the `mosquitto` user, who cannot read these files.
    const user = process.getuid?.() === 0 ? `user ${userInfo().username}\n` : '';
    writeFileSync(join(this.dir, 'mosquitto.conf'), files.conf + user);
    const p = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: realClockEnv(),
    });
    this.proc = p;
    const keep = (d: Buffer) => void (this.output = (this.output + d.toString()).slice(-10_000));
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    p.once('error', (e) => keep(Buffer.from(`${e.message} (apt-get install mosquitto)\n`)));
    p.once('exit', () => void (this.exited = true));
    await waitFor(
      `mosquitto (pid ${p.pid}) to listen on port ${port}`,
      () => this.exited || listensOn(p.pid!, port),
      15_000,
      50,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.output}`);
    });
    if (this.exited) throw new Error(`mosquitto exited: ${this.output}`);
    return this;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || this.exited) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill();
    await done;
  }
}
