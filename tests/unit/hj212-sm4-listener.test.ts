// The hj212 link with an SM4 key per device: encrypted uploads are decrypted and stored; a wrong key, a
// corrupted CP or a plain upload from a device that should encrypt is refused and counted against that
// device, and the connection goes on. A real listener on a free port; records taken by the test.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, Hj212Error, parseSegment } from '../../protocol/hj212.ts';
import { encodeEncryptedFrame, parseSm4Key } from '../../protocol/hj212-sm4.ts';
import { Hj212Listener } from '../../gateway/drivers/hj212-listener.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';

const KEY = parseSm4Key('0123456789abcdeffedcba9876543210');
const OTHER = parseSm4Key('00112233445566778899aabbccddeeff');
const MN_SM4 = '150100A0000001000000C001';
const MN_PLAIN = '150100A0000001000000C002';

/** A real-time upload of `mn` at 2024-01-15 10:MM Beijing time, asking for an answer (2025: Flag 9). */
const segment = (mn: string, minute: number, pm25 = 56) =>
  `QN=2024011510${String(minute).padStart(2, '0')}00000;ST=22;CN=2011;PW=123456;MN=${mn};Flag=9;CP=&&DataTime=2024011510${String(minute).padStart(2, '0')}00;a34004-Rtd=${pm25},a34004-Flag=N;a34002-Rtd=98,a34002-Flag=N;a21026-Rtd=12,a21026-Flag=N&&`;

const stored: SampleRecord[] = [];
const listener = new Hj212Listener(
  { name: 'hj', type: 'hj212', host: '127.0.0.1', port: 0, offsetHours: 8, maxClockDriftS: 0 },
  [
    { id: 'st-sm4', kind: 'air.station', link: 'hj', mn: MN_SM4, crc: 'hj212', sm4Key: KEY },
    { id: 'st-plain', kind: 'air.station', link: 'hj', mn: MN_PLAIN, crc: 'hj212' },
  ],
  (records) => stored.push(...records),
);
let port = 0;
beforeAll(async () => {
  port = await listener.start();
});
afterAll(() => listener.close());

/** A logger's connection and the QNs of the answers it got, in order. */
async function logger(): Promise<{ s: Socket; answered: string[]; next: (n: number) => Promise<void> }> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  const answered: string[] = [];
  const reader = new FrameReader();
  let wake = () => {};
  s.on('data', (c: Buffer) => {
    for (const f of reader.push(c))
      if (!(f instanceof Hj212Error)) answered.push(parseSegment(f.segment.toString()).qn!);
    wake();
  });
  const next = (n: number) =>
    new Promise<void>((resolve) => {
      wake = () => answered.length >= n && resolve();
      wake();
    });
  return { s, answered, next };
}

describe('hj212 link with SM4', () => {
  it('stores an encrypted upload, refuses a wrong key, a corrupted CP and a plain one, and goes on', async () => {
    const { s, answered, next } = await logger();
    const corrupted = encodeEncryptedFrame(segment(MN_SM4, 33), KEY);
    corrupted[120]! ^= 0x55; // a byte of the ciphertext flipped on the way
    s.write(
      Buffer.concat([
        encodeEncryptedFrame(segment(MN_SM4, 31), KEY),
        encodeEncryptedFrame(segment(MN_SM4, 32), OTHER),
        corrupted,
        encodeFrame(segment(MN_SM4, 34)), // not encrypted, from a device that must encrypt
        encodeFrame(segment(MN_PLAIN, 31)), // a device without a key of the same link: plain, as before
        encodeEncryptedFrame(segment(MN_SM4, 35, 77), KEY, { form: 'text' }),
      ]),
    );
    await next(3);
    expect(answered).toEqual(['20240115103100000', '20240115103100000', '20240115103500000']);
    expect(stored.map((r) => [r.dev, r.ts, r.m.pm25])).toEqual([
      ['st-sm4', Date.UTC(2024, 0, 15, 2, 31), 56],
      ['st-plain', Date.UTC(2024, 0, 15, 2, 31), 56],
      ['st-sm4', Date.UTC(2024, 0, 15, 2, 35), 77],
    ]);
    expect(listener.perDevice.get('st-sm4')).toMatchObject({ accepted: 2, rejected: 3, decryptFailed: 3 });
    expect(listener.perDevice.get('st-sm4')!.lastError).toBe(
      'SM4: CN 2011 came unencrypted, but the device has an sm4_key',
    );
    expect(listener.perDevice.get('st-plain')).toMatchObject({ accepted: 1, rejected: 0 });
    expect(listener.perDevice.get('st-plain')!.decryptFailed).toBeUndefined();
    s.destroy();
  });

  it("names a wrong key in the device's last error", async () => {
    const { s, next } = await logger();
    s.write(
      Buffer.concat([encodeEncryptedFrame(segment(MN_SM4, 40), OTHER), encodeEncryptedFrame(segment(MN_SM4, 41), KEY)]),
    );
    await next(1);
    // The refusal came before the answer of the packet after it; its reason is the last error until then.
    expect(listener.perDevice.get('st-sm4')!.decryptFailed).toBe(4);
    expect(listener.perDevice.get('st-sm4')!.lastError).toMatch(
      /^SM4: the CP does not decrypt with the device's sm4_key \(wrong key, or corrupted\): E_/,
    );
    s.destroy();
  });
});
