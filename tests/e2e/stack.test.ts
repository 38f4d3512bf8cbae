// `npm start` as a user runs it: the whole network comes up, data reaches InfluxDB, Ctrl-C stops it cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { waitFor } from '../../cli/services/ports.ts';
import { ROOT } from '../helpers/pipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-stack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the network, stores data, and shuts down on SIGINT', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'bin/qingcheng.js'), 'stack', '--dir', dir, '--mqtt-port', '0', '--health-port', '0', '--console-port', '0', '--stations', '6', '--cems', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QINGCHENG_LOG: 'info' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor('the stack to print how to query', () => out.includes('Ctrl-C stops everything'), 30_000);
    expect(out).toMatch(/gateways +gw-sim-01 \(6 devices\), gw-sim-02 \(6 devices\)/);
    expect(out).toMatch(/HJ 212 +2 national station logger\(s\) uploading to gw-sim-02 at 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/remote sensing 2 SIM-RSD site\(s\) pushing vehicle passes to http:\/\/127\.0\.0\.1:\d+\/records/);
    const influx = /influxd +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const consoleUrl = /Operator console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
    expect(await (await fetch(consoleUrl)).text()).toContain('<title>Qingcheng 青城 — operator console</title>');
    const count = async (q = 'SELECT count(pm25) FROM air') => {
      const res = await fetch(`${influx}/query?db=qingcheng&q=${encodeURIComponent(q)}`);
      const body = await res.json() as { results: { series?: { values: [string, number][] }[] }[] };
      return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
    };
    await waitFor('records in InfluxDB', async () => (await count()) >= 12, 30_000, 250);
    // The sites push their last 10 minutes first (at 50–400 passes an hour each, some are there).
    await waitFor('a national station\'s HJ 212 upload in InfluxDB', async () => (await count(`SELECT count(pm25) FROM air WHERE kind = 'air.station'`)) >= 2, 30_000, 250);
    await waitFor('a vehicle pass in InfluxDB', async () => (await count('SELECT count(speed) FROM rsd')) >= 1, 30_000, 250);
    expect(out).toMatch(/sampled [\d.]+\/s \(total \d+\) +written [\d.]+\/s \(total \d+\) +outbox \d+ +errors \d+/);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(readFileSync(join(dir, 'stack.log'), 'utf8')).toContain('"msg":"stack stopped"');
});
