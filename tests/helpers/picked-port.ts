// Servers that cannot listen on port 0 and say which port they got (redis-server, victoria-metrics) are
// given a port that was free a moment ago. Another process may take it first: the server then exits, or
// someone else's answers. Either is noticed, and the server is started again on a newly picked port.
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { freePort, waitFor } from './wait.ts';

export interface PickedPortServer {
  /** Starts the server on `port`. */
  spawn(port: number): ChildProcess;
  /** Whether something answers on `port` (any server). */
  answers(port: number): Promise<boolean>;
  /** Whether what answers on `port` is the server `proc` (its pid, its data directory). */
  isOurs(port: number, proc: ChildProcess): Promise<boolean>;
}

/** Attempts before giving up: each lost race costs one. */
const ATTEMPTS = 5;

export async function startOnPickedPort(
  what: string,
  s: PickedPortServer,
  pick: () => Promise<number> = () => freePort(),
): Promise<{ port: number; proc: ChildProcess }> {
  let lost = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const port = await pick();
    const proc = s.spawn(port);
    let failed: Error | undefined;
    proc.once('error', (e) => (failed = e));
    const exited = () => proc.exitCode !== null || proc.signalCode !== null;
    await waitFor(`${what} on port ${port}`, async () => !!failed || exited() || (await s.answers(port)), 30_000);
    if (failed) throw new Error(`${what} could not be started: ${failed.message}`);
    if (!exited() && (await s.isOurs(port, proc))) return { port, proc };
    lost += ` ${port}`;
    if (!exited()) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill();
      await gone;
    }
  }
  throw new Error(`${what} could not keep a port: each picked one was taken (${lost.trim()})`);
}

/** Servers a test listens with to hold ports, standing in for another process that took a picked port. */
export class HeldPorts {
  private readonly servers: net.Server[] = [];

  /** Listens on a port the OS picks and holds it; the port. */
  async hold(server: net.Server): Promise<number> {
    this.servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return (server.address() as net.AddressInfo).port;
  }

  /** Closes every server held so far. */
  async release(): Promise<void> {
    for (const s of this.servers.splice(0)) await new Promise((r) => s.close(r));
  }
}

/** Picks `first` once, then free ports, as if another process had taken `first` in between. */
export function losingFirst(first: number): () => Promise<number> {
  let picked = false;
  return async () => (picked ? freePort() : ((picked = true), first));
}
