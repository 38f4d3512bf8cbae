// A private VictoriaMetrics (Debian's `victoria-metrics`): a real server that accepts InfluxDB
// /api/v2/write line protocol, to test the v2 sink end to end.
import { spawn, type ChildProcess } from 'node:child_process';
import { realClockEnv } from './clock.ts';
import { startOnPickedPort, type PickedPortServer } from './picked-port.ts';

export class VictoriaMetrics {
  private proc?: ChildProcess;
  port = 0;

  constructor(readonly dir: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    // Deduplication at 1 ms makes a replayed sample overwrite itself, as InfluxDB's point key does.
    const { port, proc } = await startOnPickedPort(
      'victoria-metrics',
      victoriaMetricsOn(this.dir, ['-retentionPeriod=100y', '-dedup.minScrapeInterval=1ms']),
    );
    this.port = port;
    this.proc = proc;
    return this;
  }

  /** Every sample of measurement `m` as rows { time, ...tags, field: value }. */
  async rows(m: string): Promise<Record<string, unknown>[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const res = await fetch(`${this.url}/api/v1/export`, {
      method: 'POST',
      body: new URLSearchParams({ 'match[]': `{__name__=~"${m}_.*"}` }),
    });
    const rows = new Map<string, Record<string, unknown>>();
    for (const line of (await res.text()).split('\n').filter(Boolean)) {
      const s = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const { __name__: name, ...tags } = s.metric;
      const field = name!.slice(m.length + 1);
      s.timestamps.forEach((ts, i) => {
        const key = `${JSON.stringify(tags)}@${ts}`;
        const row = rows.get(key) ?? { time: ts, ...tags };
        row[field] = s.values[i];
        rows.set(key, row);
      });
    }
    return [...rows.values()];
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc!.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

/** victoria-metrics with its data in `dir` and `args`; the server on a port is ours if /flags names `dir`. */
export function victoriaMetricsOn(dir: string, args: string[]): PickedPortServer {
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    spawn: (port) =>
      spawn('victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, ...args], {
        stdio: 'ignore',
        env: realClockEnv(),
      }),
    answers: async (port) => (await fetch(`${url(port)}/health`, { signal: AbortSignal.timeout(2000) })).ok,
    isOurs: async (port) =>
      (await (await fetch(`${url(port)}/flags`)).text()).includes(`-storageDataPath=${JSON.stringify(dir)}`),
  };
}
