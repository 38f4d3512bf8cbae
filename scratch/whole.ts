import { Capture } from '../ingest/capture.ts';
import { Engine } from '../ingest/engine/engine.ts';
import { recordLine } from '../ingest/schema.ts';
import { decodeBatch, encodeEnvelope, type SampleRecord } from '../protocol/envelope.ts';
import { Topics } from '../protocol/topics.ts';
import { syntheticRecord } from '../simulators/mqtt-load.ts';
const N = 200, BATCH = 5000;
const start = Date.now() - 30 * 86_400_000;
const records = Array.from({ length: N }, (_, i) => syntheticRecord(`aq-${i % 10}`, start + i * 1000, i));
const payload = Buffer.from(encodeEnvelope({ v: 1, gw: 'gw-bench', ep: 'e1', seq: 0, records }));
const engine = new Engine(new Topics()); const capture = new Capture();
let tsShift = 0, sink = 0;
const mode = process.argv[2];
let pending: string[] = [];
let buf = Buffer.allocUnsafe(4 << 20); let off = 0, count = 0;
function run() {
  const b = decodeBatch(payload);
  tsShift += N * 1000;
  for (let k = 0; k < N; k++) {
    const r0 = b.records[k] as SampleRecord; const r = { ...r0, ts: r0.ts + tsShift };
    const line = recordLine('gw-bench', k, r);
    if (mode === 'buf') { off += buf.write(line, off); buf[off++] = 10; count++; } else pending.push(line);
    capture.record('gw-bench', r);
    const pts = engine.process(r, 'gw-bench').points;
    for (const p of pts) if (mode === 'buf') { off += buf.write(p, off); buf[off++] = 10; count++; } else pending.push(p);
  }
  for (const p of capture.flush()) if (mode === 'buf') { off += buf.write(p, off); buf[off++] = 10; count++; } else pending.push(p);
  if (mode === 'buf') { if (count >= BATCH) { sink += Buffer.from(buf.subarray(0, off)).length; off = 0; count = 0; } }
  else if (pending.length >= BATCH) { sink += Buffer.from(pending.join('\n')).length; pending = []; }
}
for (let i = 0; i < 300; i++) run();
const t0 = process.cpuUsage(); let calls = 0;
while (true) { run(); calls++; const d = process.cpuUsage(t0); if (d.user + d.system > 3e6) { console.log(mode, ((d.user + d.system) * 1000 / (calls * N)).toFixed(0), 'ns/rec'); break; } }
