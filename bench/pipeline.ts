// Pipeline throughput: many simulated gateways → Aedes → ingest → influxd, in records/s until the last
// record is acknowledged as durable, measured in the same run as influxd's own /write rate for the same
// lines (5000-line batches, 2 in flight), with the CPU each process spent per record and the records
// lost or duplicated (sent against stored). Prints JSON. Before the measured run, --warmup records go
// through the same pipeline from gateways of their own, unmeasured: until its hot code is compiled a
// process pays for compiling it, which a worker that runs for days pays once.
// Run: npm run bench [-- --records 1000000 --warmup 200000 --gateways 50 --batch 200 --profile DIR]
// (--profile writes the V8 CPU profiles of ingest and the broker to DIR/ingest and DIR/broker, for
// chrome://inspect or speedscope; INGEST_NODE_ARGS passes node options to ingest, e.g. GC settings.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { hashPassword } from '../broker/users.ts';
import { Influxd } from '../cli/services/influxd.ts';
import { costOf, findPid, sampleProc, type ProcSample } from '../cli/load/proc-stats.ts';
import { freePort, waitFor } from '../cli/services/ports.ts';
import { recordLine } from '../ingest/schema.ts';
import { LoadGateway, syntheticRecord } from '../simulators/mqtt-load.ts';
import { Proc } from '../tests/helpers/pipeline.ts';

const { values: a } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    warmup: { type: 'string', default: '200000' },
    gateways: { type: 'string', default: '50' },
    devices: { type: 'string', default: '10' },
    batch: { type: 'string', default: '200' },
    window: { type: 'string', default: '8' },
    profile: { type: 'string' },
  },
});
const R = Number(a.records),
  G = Number(a.gateways),
  D = Number(a.devices),
  B = Number(a.batch),
  W = Number(a.window);
const perGw = Math.ceil(R / G);
const startTs = Date.now() - Math.ceil(perGw / D) * 1000 - 60_000;

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-bench-'));
const influx = await new Influxd(join(dir, 'influxdb'), 'qingcheng').start();
const progress = (s: string) => process.stderr.write(s + '\n');

// 1. influxd's own rate for the same lines.
await influx.query('CREATE DATABASE raw', 'POST');
const lines: string[] = [];
for (let g = 0; g < G; g++)
  for (let i = 0; i < perGw; i++) {
    lines.push(recordLine(`gw-${g}`, i, syntheticRecord(`gw-${g}-aq${i % D}`, startTs + Math.floor(i / D) * 1000, i)));
  }
progress(`raw /write: ${lines.length} lines`);
let t0 = performance.now();
let at = 0;
const worker = async () => {
  while (at < lines.length) {
    const body = lines.slice(at, (at += 5000)).join('\n');
    const res = await fetch(`${influx.url}/write?db=raw&precision=ns`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`raw write failed: ${res.status} ${await res.text()}`);
  }
};
await Promise.all([worker(), worker()]);
const rawRate = lines.length / ((performance.now() - t0) / 1000);
progress(`raw /write: ${Math.round(rawRate)} lines/s`);

// 2. The pipeline, with broker and ingest as their own processes.
const users = [];
for (let g = 0; g < G; g++)
  users.push({ username: `gw-${g}`, role: 'gateway', password: await hashPassword('pw', 1024) });
for (let g = 0; g < G; g++)
  users.push({ username: `warm-${g}`, role: 'gateway', password: await hashPassword('pw', 1024) });
users.push({ username: 'ingest', role: 'ingest', password: await hashPassword('pw', 1024) });
writeFileSync(join(dir, 'users.yaml'), stringify({ users }));
const port = await freePort();
const profile = (name: string) => (a.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(a.profile, name)}`] : []);
const broker = new Proc(
  'broker',
  ['broker', '--users', join(dir, 'users.yaml'), '--port', String(port), '--host', '127.0.0.1', '--health-port', '0'],
  {},
  { nodeArgs: profile('broker') },
);
const url = `mqtt://127.0.0.1:${port}`;
await waitFor(
  'broker',
  async () => {
    const c = await mqtt.connectAsync(url, {
      clientId: 'bench-probe',
      username: 'ingest',
      password: 'pw',
      reconnectPeriod: 0,
    });
    await c.endAsync();
    return true;
  },
  20_000,
  200,
);
const nodeArgs = [...profile('ingest'), ...(process.env.INGEST_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
const ingest = new Proc(
  'ingest',
  ['ingest', '--mqtt', url, '--password', 'pw', '--influx-url', influx.url],
  {},
  { nodeArgs },
);
const gateways = (name: string, records: number) =>
  Array.from(
    { length: G },
    (_, g) =>
      new LoadGateway({
        url,
        gateway: `${name}-${g}`,
        password: 'pw',
        devices: D,
        records,
        batch: B,
        window: W,
        startTs,
      }),
  );
const gws = gateways('gw', perGw);
await Promise.all(gws.map((g) => g.connect()));
await waitFor('ingest to subscribe', () => ingest.output.includes('ingest running'), 20_000).catch((e: Error) => {
  throw new Error(`${e.message}\ningest: ${ingest.output.slice(-2000)}`);
});
const warmPerGw = Math.ceil(Number(a.warmup) / G);
if (warmPerGw > 0) {
  progress(`warm-up: ${G} gateways × ${warmPerGw} records, not measured`);
  const warm = gateways('warm', warmPerGw);
  await Promise.all(warm.map((g) => g.connect()));
  await Promise.all(warm.map((g) => g.run()));
  await Promise.all(warm.map((g) => g.close()));
}
progress(`pipeline: ${G} gateways × ${perGw} records`);
const pids = {
  ingest: ingest.child.pid!,
  broker: broker.child.pid!,
  influxd: findPid(join(dir, 'influxdb')),
};
const before = sampleAll();
t0 = performance.now();
let lastAcked = -1;
let stalledSince = Date.now();
const stalled = new Promise<never>((_, reject) => {
  const ticker = setInterval(async () => {
    const acked = gws.reduce((s, g) => s + g.acked + 1, 0);
    progress(`  acknowledged ${acked} / ${G * perGw}`);
    if (acked === G * perGw) return clearInterval(ticker);
    if (acked !== lastAcked) {
      lastAcked = acked;
      stalledSince = Date.now();
      return;
    }
    if (Date.now() - stalledSince < 15_000) return;
    clearInterval(ticker);
    const stored = await influx.rows('SELECT count(seq) FROM air WHERE gw =~ /^gw-/');
    const behind = gws.filter((g) => g.acked < perGw - 1).map((g) => `${g.o.gateway}:${g.acked}`);
    reject(
      new Error(
        `no progress for 15 s: stored ${JSON.stringify(stored)}; gateways behind ${behind.join(' ')}\ningest: ${ingest.output.slice(-3000)}\nbroker: ${broker.output.slice(-2000)}`,
      ),
    );
  }, 2000);
});
await Promise.race([Promise.all(gws.map((g) => g.run())), stalled]);
const secs = (performance.now() - t0) / 1000;
const after = sampleAll();
const stored = Number((await influx.rows('SELECT count(seq) FROM air WHERE gw =~ /^gw-/'))[0]?.count ?? 0);
const pipelineRate = (G * perGw) / secs;

console.log(
  JSON.stringify(
    {
      bench: 'pipeline',
      records: G * perGw,
      warmup_records: G * warmPerGw,
      fields_per_record: 10,
      gateways: G,
      envelope_records: B,
      window: W,
      pipeline_records_per_s: Math.round(pipelineRate),
      influxd_raw_lines_per_s: Math.round(rawRate),
      ratio: Number((pipelineRate / rawRate).toFixed(3)),
      stored_in_influxdb: stored,
      lost: Math.max(0, G * perGw - stored),
      duplicated: Math.max(0, stored - G * perGw),
      seconds: Number(secs.toFixed(2)),
      cpu_us_per_record: cpuPerRecord(before, G * perGw, secs),
    },
    null,
    2,
  ),
);

/** CPU µs per record of each process from `from` to the end of the run, over `records`. */
function cpuPerRecord(from: Record<string, ProcSample | null>, records: number, secs: number) {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => {
      const b = from[name],
        e = after[name];
      return [name, pid && b && e ? costOf(name, pid, b, e, records, secs).cpu_us_per_record : null];
    }),
  );
}

/** CPU and memory of each process now. */
function sampleAll(): Record<string, ProcSample | null> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? sampleProc(pid) : null]));
}

await Promise.all(gws.map((g) => g.close()));
await ingest.kill();
await broker.kill();
await influx.stop();
rmSync(dir, { recursive: true, force: true });
