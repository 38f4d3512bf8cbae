// Ingest scaling: the same city load (`qingcheng load`, Hohhot's mix at --speed, a fixed number of
// records) with 1, 2 and 4 ingest workers, each run against a fresh stack of its own. Reports the rate
// until the last record was acknowledged, influxd's raw /write rate of the same run, and CPU per record
// of each process. Prints JSON. Run: node bin/run-ts.js bench/scaling.ts [--records 300000 --speed 1000]
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4' },
    records: { type: 'string', default: '300000' },
    speed: { type: 'string', default: '1000' },
    gateways: { type: 'string', default: '200' },
  },
});
const BIN = fileURLToPath(new URL('../bin/qingcheng.js', import.meta.url));
const progress = (s: string) => process.stderr.write(`scaling: ${s}\n`);

interface Cost {
  name: string;
  cpu_s: number;
  cpu_us_per_record: number | null;
  cores: number;
  peak_rss_mb: number;
}

interface Report {
  records: { acknowledged: number; stored: number; lost: number; duplicated: number };
  rate: { asked_records_per_s: number; acknowledged_records_per_s: number; seconds_until_acknowledged: number };
  latency_ms: { publish_to_ack: { p50: number; p99: number } };
  processes: Cost[];
  influxd_raw_write: { lines_per_s: number };
  pipeline_over_raw: number;
  machine: { loadavg_1m: number };
  ok: boolean;
}

function load(workers: number): Promise<Report> {
  const args = ['load', '--workers', String(workers), '--gateways', a.gateways!, '--speed', a.speed!];
  args.push('--records', a.records!, '--minutes', '10', '--drain-s', '120');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as Report);
      } catch {
        reject(new Error(`qingcheng load --workers ${workers} exited with ${code} and no report`));
      }
    }),
  );
}

const runs = [];
let asked = 0;
for (const w of a.workers!.split(',').map(Number)) {
  progress(`--workers ${w}`);
  const r = await load(w);
  asked = r.rate.asked_records_per_s;
  const sum = (f: (p: Cost) => boolean) =>
    Number(
      r.processes
        .filter(f)
        .reduce((s, p) => s + (p.cpu_us_per_record ?? 0), 0)
        .toFixed(1),
    );
  const ingest = r.processes.filter((p) => p.name.startsWith('ingest-'));
  runs.push({
    workers: w,
    records: r.records.acknowledged,
    lost: r.records.lost,
    duplicated: r.records.duplicated,
    records_per_s: Math.round(r.rate.acknowledged_records_per_s),
    influxd_raw_lines_per_s: r.influxd_raw_write.lines_per_s,
    pipeline_over_raw: r.pipeline_over_raw,
    publish_to_ack_p50_ms: r.latency_ms.publish_to_ack.p50,
    publish_to_ack_p99_ms: r.latency_ms.publish_to_ack.p99,
    cpu_us_per_record: {
      ingest_all_workers: sum((p) => p.name.startsWith('ingest-')),
      broker: sum((p) => p.name === 'broker'),
      influxd: sum((p) => p.name === 'influxd'),
      load_generator: sum((p) => p.name.startsWith('load')),
      total: sum(() => true),
    },
    ingest_cores_each: ingest.map((p) => p.cores),
    ingest_peak_rss_mb_each: ingest.map((p) => p.peak_rss_mb),
    loadavg_1m_after: r.machine.loadavg_1m,
    ok: r.ok,
  });
}

console.log(
  JSON.stringify(
    {
      bench: 'scaling',
      mix: 'hohhot',
      speed: Number(a.speed),
      asked_records_per_s: asked,
      gateways: Number(a.gateways),
      records: Number(a.records),
      cores: cpus().length,
      runs,
    },
    null,
    2,
  ),
);
