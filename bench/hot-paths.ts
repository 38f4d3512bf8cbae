// Hot paths of ingest, per record, for 200-record envelopes of 10-field air records: each part of what
// a worker does with an envelope (MQTT packet parse, envelope decode and validation, data-capture
// counting, the exceedance engine, line-protocol encode, the database write over the keep-alive HTTP
// pool), then all of them in one loop, so the parts can be held against the whole and against the CPU
// per record `npm run bench` measures for the ingest process. Times are CPU time of this process
// (process.cpuUsage), so other work on the machine does not count; the HTTP server that takes the
// writes runs in a child process, so only the client's side is counted. Prints JSON.
// Run: npm run bench:hot
import { fork } from 'node:child_process';
import { once } from 'node:events';
import mqttPacket from 'mqtt-packet';
import { Capture } from '../ingest/capture.ts';
import { Engine } from '../ingest/engine/engine.ts';
import { LineWriter } from '../ingest/line-writer.ts';
import { recordLine, writeRecordLine } from '../ingest/schema.ts';
import { readingSpans } from '../protocol/envelope-spans.ts';
import { DEFAULT_SINK, LineSink } from '../ingest/sinks/line-sink.ts';
import { decodeBatch, encodeEnvelope, type SampleRecord } from '../protocol/envelope.ts';
import { Topics } from '../protocol/topics.ts';
import { syntheticRecord } from '../simulators/mqtt-load.ts';

const N = 200;
/** Lines per database write: ingest's default. */
const BATCH = DEFAULT_SINK.batchLines;
const start = Date.now() - 30 * 86_400_000;
const records = Array.from({ length: N }, (_, i) => syntheticRecord(`aq-${i % 10}`, start + i * 1000, i));
const payload = Buffer.from(encodeEnvelope({ v: 1, gw: 'gw-bench', ep: 'e1', seq: 0, records }));
const packet = mqttPacket.generate({
  cmd: 'publish',
  topic: 'env/v1/up/3/gw-bench',
  payload,
  qos: 1,
  messageId: 1,
  dup: false,
  retain: false,
});

interface Result {
  name: string;
  cpu_ns_per_record: number;
}

/** CPU ns per record of `fn` (which handles `perCall` records): the median of five runs of ~300 ms. */
async function measure(name: string, fn: () => unknown, perCall: number): Promise<Result> {
  for (let i = 0; i < 100; i++) await fn(); // warm up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    let calls = 0;
    let used = 0;
    while (used < 300_000) {
      await fn();
      calls++;
      const d = process.cpuUsage(t0);
      used = d.user + d.system;
    }
    runs.push((used * 1000) / (calls * perCall));
  }
  return { name, cpu_ns_per_record: Math.round(runs.sort((a, b) => a - b)[2]!) };
}

// A server that takes writes and answers 204, in its own process.
const server = fork(new URL('./discard-server.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
const [port] = (await once(server, 'message')) as [number];
const sink = new LineSink({ url: `http://127.0.0.1:${port}/write`, headers: {}, describe: 'discard' });

let total = 0;
const settled = () => total++;
let tsShift = 0;
const decoded = decodeBatch(payload).records as SampleRecord[];
const engine = new Engine(new Topics());
const capture = new Capture();
const parser = mqttPacket.parser({ protocolVersion: 4 });
parser.on('packet', (p) => (total += p.length ?? 0));

/** Each record later by the same step every call, as a live stream brings new minutes and hours. */
const later = (r: SampleRecord): SampleRecord => ({ ...r, ts: r.ts + tsShift });

const results: Result[] = [];
results.push(await measure('MQTT PUBLISH parse (mqtt-packet)', () => parser.parse(packet), N));
results.push(await measure('JSON.parse alone (the floor for decode)', () => JSON.parse(payload.toString()), N));
results.push(await measure('envelope decode + validation', () => (total += decodeBatch(payload).records.length), N));
results.push(
  await measure(
    'data-capture counting',
    () => {
      tsShift += N * 1000;
      for (const r of decoded) capture.record('gw-bench', later(r));
      total += capture.flush().length;
    },
    N,
  ),
);
results.push(
  await measure(
    'exceedance engine (air records: hourly means, AQI, live/)',
    () => {
      tsShift += N * 1000;
      for (const r of decoded) total += engine.process(later(r), 'gw-bench').points.length;
    },
    N,
  ),
);
const fields = decodeBatch(payload).fields;
/** An envelope's lines as ingest writes them: readings copied from the payload's text. */
const writeLines = (recs: SampleRecord[], extra: (w: LineWriter, k: number) => void = () => undefined) => {
  const spans = readingSpans(payload, N)!;
  const w = new LineWriter(payload.length + 96 * N, N + 8);
  for (let k = 0; k < N; k++) {
    writeRecordLine(w, 'gw-bench', k, recs[k]!, undefined, payload, spans[2 * k]!, spans[2 * k + 1]!, fields[k]!);
    extra(w, k);
  }
  return w;
};
results.push(
  await measure(
    'line-protocol encode (from the parsed records, recordLine)',
    () => {
      for (let k = 0; k < N; k++) total += recordLine('gw-bench', k, decoded[k]!).length;
    },
    N,
  ),
);
results.push(
  await measure(
    'line-protocol write (readings copied from the envelope, as ingest does)',
    () => {
      total += writeLines(decoded).lines;
    },
    N,
  ),
);
const bytes = writeLines(decoded).done();
results.push(
  await measure(
    'database write: the line sink, batches of 5000 over the keep-alive pool',
    () => sink.writeBytes(bytes, settled),
    N,
  ),
);
// The parts of the whole: everything but JSON.parse alone (inside decode) and recordLine (not used by ingest).
const sum = results
  .filter((r) => !r.name.startsWith('JSON.parse') && !r.name.includes('recordLine'))
  .reduce((s, r) => s + r.cpu_ns_per_record, 0);
const whole = await measure(
  'all of it in one loop (parse, decode, capture, engine, encode, write)',
  async () => {
    parser.parse(packet);
    const b = decodeBatch(payload);
    tsShift += N * 1000;
    const recs = (b.records as SampleRecord[]).map(later);
    const w = writeLines(recs, (w, k) => {
      capture.record('gw-bench', recs[k]!);
      for (const p of engine.process(recs[k]!, 'gw-bench').points) w.text(p);
    });
    for (const line of capture.flush()) w.text(line);
    await sink.writeBytes(w.done(), settled);
  },
  N,
);
await sink.drain();
sink.close();
server.kill();

console.log(
  JSON.stringify(
    {
      bench: 'hot-paths',
      envelope_records: N,
      envelope_bytes: payload.length,
      fields_per_record: 10,
      batch_lines: BATCH,
      results: [...results, whole],
      sum_of_parts_ns_per_record: sum,
      whole_ns_per_record: whole.cpu_ns_per_record,
    },
    null,
    2,
  ),
);
if (total < 0) console.log(total);
