// HJ 212-2025 SM4 cost per packet: decrypting a real-time air upload's data area (what the hj212 link
// does for a device with a key) and encrypting and framing it (the simulated logger). Prints JSON.
// Run: node bin/run-ts.js bench/hj212-sm4.ts
import { formatDataTime, FrameReader, uploadSegment, type RawFrame } from '../protocol/hj212.ts';
import { decryptSegment, encodeEncryptedFrame, parseSm4Key } from '../protocol/hj212-sm4.ts';
import { airFactors } from '../simulators/hj212-logger.ts';

const N = 100_000;
const key = parseSm4Key('0123456789abcdeffedcba9876543210');
const t = Date.UTC(2024, 0, 15, 2);
const seg = uploadSegment({
  qn: '20240115100000000',
  st: '22',
  cn: '2011',
  pw: '123456',
  mn: '150100A00000000000000BB8',
  flag: 9,
  dataTime: formatDataTime(t),
  factors: airFactors(1, new Date(t)),
});
const [frame] = new FrameReader({ binary: true }).push(encodeEncryptedFrame(seg, key)) as RawFrame[];

/** Microseconds per call of `f`, after a warm-up. */
function perCall(f: () => unknown): number {
  for (let i = 0; i < 1000; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Math.round(Number(process.hrtime.bigint() - t0) / 10 / N) / 100;
}

console.log(
  JSON.stringify({
    segmentBytes: frame!.segment.length,
    decryptUs: perCall(() => decryptSegment(frame!.segment, key)),
    encryptAndFrameUs: perCall(() => encodeEncryptedFrame(seg, key)),
  }),
);
