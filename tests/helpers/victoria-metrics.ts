// A private VictoriaMetrics (Debian's `victoria-metrics`): a real server that accepts InfluxDB
// /api/v2/write line protocol, to test the v2 sink end to end.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from '../../cli/services/ports.ts';
import { realClockEnv } from './clock.ts';

export class VictoriaMetrics {
  private proc?: ChildProcess;
  port = 0;

  constructor(readonly dir: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    // Deduplication at 1 ms makes a replayed sample overwrite itself, as InfluxDB's point key does.
    this.proc = spawn(
      'victoria-metrics',
      [
        `-storageDataPath=${this.dir}`,
        `-httpListenAddr=127.0.0.1:${this.port}`,
        '-retentionPeriod=100y',
        '-dedup.minScrapeInterval=1ms',
      ],
      { stdio: 'ignore', env: realClockEnv() },
    );
    await waitFor('victoria-metrics', async () => (await fetch(`${this.url}/health`)).ok, 30_000);
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
