// A private redis-server (Debian's `redis-server`) on a free port, in memory, for the broker's shared state.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort, waitFor } from '../../cli/services/ports.ts';
import { realClockEnv } from './clock.ts';

export class RedisServer {
  private proc?: ChildProcess;
  port = 0;

  constructor(readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore', env: realClockEnv() },
    );
    this.proc.once('error', () => undefined);
    await waitFor(
      'redis-server to answer PING (is redis-server installed? apt-get install redis-server)',
      () => this.ping(),
      15_000,
    );
    return this;
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        resolve(d.toString().startsWith('+PONG'));
        s.destroy();
      });
      s.once('error', () => resolve(false));
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill();
    await exited;
  }
}
