// `qingcheng chaos` for two minutes: every kind of fault at least once (kill -9 of ingest, the broker, a
// gateway and influxd; influxd stopped; the gateways' link cut; a slow database), and then every
// sequence number a gateway gave out is in InfluxDB exactly once.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { faultAt } from '../../cli/chaos.ts';

const BIN = new URL('../../bin/qingcheng.js', import.meta.url).pathname;

it('loses and duplicates nothing through two minutes of faults', async () => {
  const args = [
    'chaos',
    '--minutes',
    '2',
    '--fault-every',
    '10',
    '--seed',
    '7',
    '--gateways',
    '2',
    '--stations',
    '3',
    '--drain-timeout',
    '120',
  ];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(out, err).toMatch(/^\{/);
  const report = JSON.parse(out) as {
    faults: { fault: string }[];
    drained: boolean;
    records: number;
    stored: number;
    lost: number;
    duplicated: number;
    gateways: { numbered: number; stored: number }[];
  };
  expect(new Set(report.faults.map((f) => f.fault))).toEqual(
    new Set(['kill-ingest', 'kill-broker', 'kill-gateway', 'stop-influxd', 'kill-influxd', 'cut-link', 'slow-db']),
  );
  expect(report.drained).toBe(true);
  expect(report.records).toBeGreaterThan(500);
  expect(report.gateways.every((g) => g.numbered > 0 && g.stored === g.numbered)).toBe(true);
  expect([report.lost, report.duplicated]).toEqual([0, 0]);
  expect(code).toBe(0);
}, 360_000);

it('draws every kind of fault once in each round of seven', () => {
  for (const seed of [1, 7, 1234])
    for (const round of [0, 1, 5])
      expect(new Set(Array.from({ length: 7 }, (_, k) => faultAt(seed, round * 7 + k))).size).toBe(7);
});
