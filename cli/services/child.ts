// A `qingcheng <command>` child process that can be killed (any signal) and started again with the same
// arguments, its output appended to one log file across restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/qingcheng.js', import.meta.url));

export class Child {
  private proc?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();
  starts = 0;

  constructor(
    readonly name: string,
    private args: string[],
    private logFile: string,
    private env: Record<string, string> = {},
  ) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): this {
    const fd = openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [BIN, ...this.args], {
      env: { ...process.env, QINGCHENG_LOG: 'info', ...this.env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd); // the child holds its own copy
    this.proc = proc;
    this.starts++;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.proc!.kill(signal);
    await this.exited;
  }
}
