// HJ 212 stream reader throughput (MB/s) on valid frames, random garbage and resync attacks, fed in
// 64 KiB chunks as a socket delivers them. Prints JSON. Run: node bin/run-ts.js bench/hj212.ts
import { encodeFrame, FrameReader, uploadSegment } from '../protocol/hj212.ts';

const CHUNK = 64 * 1024;
const STREAM = 4 * 1024 * 1024;

/** A deterministic byte source, so every run measures the same stream. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s >>> 24;
  };
}

function repeatTo(unit: Buffer, size: number): Buffer {
  return Buffer.concat(Array.from({ length: Math.ceil(size / unit.length) }, () => unit)).subarray(0, size);
}

function validFrames(): Buffer {
  const frame = encodeFrame(
    uploadSegment({
      qn: '20240115103000123',
      st: '22',
      cn: '2011',
      pw: '123456',
      mn: '150100A0000001000000A001',
      flag: 5,
      dataTime: '20240115103000',
      factors: { a34004: { Rtd: 56, Flag: 'N' }, a34002: { Rtd: 98, Flag: 'N' }, a21026: { Rtd: 12, Flag: 'N' } },
    }),
  );
  return repeatTo(frame, STREAM);
}

function randomGarbage(): Buffer {
  const next = prng(212);
  return Buffer.from(Array.from({ length: STREAM }, next));
}

const STREAMS: Record<string, Buffer> = {
  'valid frames': validFrames(),
  'random garbage': randomGarbage(),
  '"##9" repeated (the attack)': repeatTo(Buffer.from('##9'), STREAM),
  '"#" repeated': repeatTo(Buffer.from('#'), STREAM),
  '"##1000" headers cut by the next one': repeatTo(Buffer.from('##1000' + 'x'.repeat(94)), STREAM),
};

/** MB/s over whole passes of the stream for at least `ms`, median of 3. */
function measure(stream: Buffer, ms: number): number {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const reader = new FrameReader();
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    do {
      for (let at = 0; at < stream.length; at += CHUNK) {
        reader.push(stream.subarray(at, at + CHUNK));
        bytes += Math.min(CHUNK, stream.length - at);
        if (process.hrtime.bigint() - t0 > BigInt(ms * 4) * 1_000_000n) break; // a slow stream: part of a pass
      }
    } while (process.hrtime.bigint() - t0 < BigInt(ms) * 1_000_000n);
    reader.end();
    runs.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

const results = Object.entries(STREAMS).map(([name, stream]) => ({
  name,
  mb_per_s: Math.round(measure(stream, 500) * 10) / 10,
}));
console.log(JSON.stringify({ bench: 'hj212-reader', chunk_bytes: CHUNK, results }, null, 1));
