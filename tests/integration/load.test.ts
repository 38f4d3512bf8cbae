// `qingcheng load` at a small scale against the stack it starts (influxd, broker, two ingest workers):
// its JSON report must account for every record — sent, acknowledged and stored alike, none lost, none
// stored twice — with ordered latency percentiles. No rates are asserted here; those live in bench/.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/pipeline.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function load(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/qingcheng.js'), 'load', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('qingcheng load', () => {
  it('reports every record sent, acknowledged and stored, none lost or doubled', async () => {
    const r = await load([
      '--gateways',
      '3',
      '--mix',
      'air.micro=4,stack.cems=4,vapor=2,noise=2,rsd=1',
      '--speed',
      '100',
      '--minutes',
      '0.15',
      '--workers',
      '2',
      '--raw-lines',
      '2000',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const n = report.records;
    expect(n.taken).toBeGreaterThan(0);
    expect(n.sent).toBe(n.taken);
    expect(n.acknowledged).toBe(n.sent);
    expect(n.stored).toBe(n.sent);
    expect(n.lost).toBe(0);
    expect(n.duplicated).toBe(0);
    expect(n.unacknowledged).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.audit.gateways_with_problems).toEqual([]);

    for (const k of ['publish_to_ack', 'sample_to_ack'] as const) {
      const l = report.latency_ms[k];
      expect(l.count, k).toBeGreaterThan(0);
      expect(l.p50, k).toBeGreaterThanOrEqual(0);
      expect(l.p50, k).toBeLessThanOrEqual(l.p95);
      expect(l.p95, k).toBeLessThanOrEqual(l.p99);
      expect(l.p99, k).toBeLessThanOrEqual(l.max);
    }
    expect(report.latency_ms.sample_to_ack.count).toBe(n.acknowledged);

    expect(report.stack.workers).toBe(2);
    expect(report.stack.gateways_per_worker.reduce((s: number, x: number) => s + x, 0)).toBe(3);
    const names = report.processes.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['influxd', 'broker', 'ingest-0', 'ingest-1']));
    for (const p of report.processes) {
      expect(p.cpu_s, p.name).toBeGreaterThanOrEqual(0);
      expect(p.peak_rss_mb, p.name).toBeGreaterThan(0);
    }
    expect(report.influxd_raw_write.lines).toBe(2000);
    expect(report.influxd_raw_write.lines_per_s).toBeGreaterThan(0);
    expect(report.rate.asked_records_per_s).toBeGreaterThan(0);
  }, 120_000);
});
