// Hot paths of ingest, per record: envelope decode + validation, line-protocol encode, and both together,
// for 200-record envelopes of 10-field air records. Prints JSON. Run: node bin/run-ts.js bench/hot-paths.ts
import { Engine } from '../ingest/engine/engine.ts';
import { recordLine } from '../ingest/schema.ts';
import { Topics } from '../protocol/topics.ts';
import { decodeBatch, encodeEnvelope, type SampleRecord } from '../protocol/envelope.ts';
import { syntheticRecord } from '../simulators/mqtt-load.ts';

const N = 200;
const now = Date.now();
const records = Array.from({ length: N }, (_, i) => syntheticRecord(`aq-${i % 10}`, now - 600_000 + i * 1000, i));
const payload = Buffer.from(encodeEnvelope({ v: 1, gw: 'gw-bench', ep: 'e1', seq: 0, records }));

function measure(
  name: string,
  fn: () => void,
  perCall: number,
): { name: string; ns_per_record: number; records_per_s: number } {
  for (let i = 0; i < 200; i++) fn(); // warm up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    let calls = 0;
    while (process.hrtime.bigint() - t0 < 300_000_000n) {
      fn();
      calls++;
    }
    runs.push(Number(process.hrtime.bigint() - t0) / (calls * perCall));
  }
  const ns = runs.sort((a, b) => a - b)[2]!;
  return { name, ns_per_record: Math.round(ns), records_per_s: Math.round(1e9 / ns) };
}

let sink = 0;
const decoded = decodeBatch(payload).records as SampleRecord[];
const engine = new Engine(new Topics());
let tsShift = 0;
console.log(
  JSON.stringify(
    {
      bench: 'hot-paths',
      envelope_records: N,
      envelope_bytes: payload.length,
      fields_per_record: 10,
      results: [
        measure(
          'JSON.parse alone (the floor for decode)',
          () => {
            sink += JSON.parse(payload.toString()).records.length;
          },
          N,
        ),
        measure(
          'envelope decode + validation',
          () => {
            sink += decodeBatch(payload).records.length;
          },
          N,
        ),
        measure(
          'line-protocol encode',
          () => {
            for (let k = 0; k < N; k++) sink += recordLine('gw-bench', k, decoded[k]!).length;
          },
          N,
        ),
        measure(
          'exceedance engine (air records: hourly means, AQI, live/)',
          () => {
            tsShift += 200_000; // later samples each round, as a live stream would bring
            for (const r of decoded) sink += engine.process({ ...r, ts: r.ts + tsShift }).points.length;
          },
          N,
        ),
        measure(
          'decode + encode + join (ingest per envelope)',
          () => {
            const b = decodeBatch(payload);
            sink += b.records.map((r, k) => recordLine('gw-bench', k, r as SampleRecord)).join('\n').length;
          },
          N,
        ),
      ],
    },
    null,
    2,
  ),
);
if (sink < 0) console.log(sink);
