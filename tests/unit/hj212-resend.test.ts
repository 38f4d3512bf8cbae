// A data logger's re-sent packet (same MN, CN and DataTime) is answered again but stored once: stored
// again it would overwrite the first point under a new seq, and a completeness audit would see a hole.
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Hj212Listener, REMEMBERED_SAMPLES } from '../../gateway/drivers/hj212-listener.ts';
import { encodeFrame, FrameReader, Hj212Error } from '../../protocol/hj212.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';

const MN = '150100A0000001000000A001';
/** Beijing time 2024-01-15 10:00 plus `mm` minutes as an HJ 212 DataTime (before any faketime of the suite). */
const dataTime = (mm: number) => new Date(Date.UTC(2024, 0, 15, 10, mm)).toISOString().replace(/\D/g, '').slice(0, 14);
/** Its sample time: DataTime is Beijing time (UTC+8). */
const sampleTs = (mm: number) => Date.UTC(2024, 0, 15, 2, mm);
/** An upload of the minute `mm` past 10:00, asking for an answer. */
const upload = (mm: number, rf = '') =>
  encodeFrame(
    `QN=20240115100000123;ST=22;CN=2011;PW=123456;MN=${MN};Flag=5;${rf}CP=&&` +
      `DataTime=${dataTime(mm)};a34004-Rtd=56&&`,
  );

const stored: SampleRecord[] = [];
const listener = new Hj212Listener(
  { name: 'hj', type: 'hj212', host: '127.0.0.1', port: 0, offsetHours: 8, maxClockDriftS: 0 },
  [{ id: 'st-a', kind: 'air.station', link: 'hj', mn: MN, crc: 'hj212' }],
  (records) => void stored.push(...records),
);
let port = 0;
beforeAll(async () => {
  port = await listener.start();
});
afterAll(() => listener.close());

/** Sends the frames one by one, each after the previous one's answer; resolves with the answers. */
async function send(frames: Buffer[]): Promise<number> {
  const s = connect(port, '127.0.0.1');
  const reader = new FrameReader();
  let answers = 0;
  let next = () => {};
  s.on('data', (c: Buffer) => {
    for (const f of reader.push(c)) {
      if (f instanceof Hj212Error) continue;
      answers++;
      next();
    }
  });
  await new Promise<void>((r) => s.once('connect', () => r()));
  for (const f of frames) {
    const answered = new Promise<void>((r) => (next = r));
    s.write(f);
    await answered;
  }
  s.destroy();
  return answers;
}

it('answers a re-sent packet as usual and stores it once, counting it as resent', async () => {
  expect(await send([upload(0), upload(0), upload(0, 'RF=1;'), upload(1)])).toBe(4);
  expect(stored.map((r) => r.ts)).toEqual([sampleTs(0), sampleTs(1)]);
  expect(listener.perDevice.get('st-a')).toMatchObject({ accepted: 2, resent: 2 });
});

it('remembers a bounded number of samples per device: a packet older than those is stored again', async () => {
  stored.length = 0;
  const n = REMEMBERED_SAMPLES;
  await send([...Array.from({ length: n }, (_, i) => upload(i + 2)), upload(0), upload(n + 1)]);
  // 0 was pushed out by n newer samples; n + 1 is still remembered.
  expect(stored.length).toBe(n + 1);
  expect(stored.at(-1)!.ts).toBe(sampleTs(0));
});
