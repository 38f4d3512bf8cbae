// A private redis-server (Debian's `redis-server`) on a free port, in memory, for the broker's shared state.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { realClockEnv } from './clock.ts';
import { startOnPickedPort } from './picked-port.ts';

export class RedisServer {
  private proc?: ChildProcess;
  port = 0;

  /** `pick` chooses the port to try (a test gives one that is taken, to see the start pick again). */
  constructor(
    readonly dir: string,
    private pick?: () => Promise<number>,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const { port, proc } = await startOnPickedPort(
      'redis-server (is it installed? apt-get install redis-server)',
      {
        spawn: (port) =>
          spawn(
            'redis-server',
            ['--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'],
            { stdio: 'ignore', env: realClockEnv() },
          ),
        answers: async (port) => (await this.ask(port, 'PING', /\r\n/)).startsWith('+PONG'),
        isOurs: async (port, proc) =>
          (await this.ask(port, 'INFO server', /process_id:\d+\r\n/)).includes(`process_id:${proc.pid}\r\n`),
      },
      this.pick,
    );
    this.port = port;
    this.proc = proc;
    return this;
  }

  /** Sends one inline command; what it answered once `until` matches it, or '' when nothing answers. */
  private ask(port: number, command: string, until: RegExp): Promise<string> {
    return new Promise((resolve) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(`${command}\r\n`));
      s.setTimeout(2000, () => s.destroy());
      s.on('data', (d) => {
        got += d.toString();
        if (!until.test(got)) return;
        resolve(got);
        s.destroy();
      });
      s.once('error', () => resolve(''));
      s.once('close', () => resolve(''));
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
