// HJ 212-2025 SM4 of the CP data area: the GB/T 32907 vector, the standard's Appendix A.2 examples
// (docs/standards/hj212.md §10), both wire forms, keys, and the frame reader
// taking ciphertext that holds `##`.
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, Hj212Error, parseSegment, type RawFrame } from '../../protocol/hj212.ts';
import {
  decryptSegment,
  encodeEncryptedFrame,
  encryptSegment,
  isEncryptedCn,
  parseSm4Key,
  peekHeader,
  sm4Decrypt,
  sm4Encrypt,
} from '../../protocol/hj212-sm4.ts';

/** Appendix A.2: "密钥使用16个0x30". */
const TEST_KEY = parseSm4Key('0000000000000000');
const HEAD = 'QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&';
// Example 2 (208 bytes, 13 whole blocks) and example 4 (147 bytes: 9 blocks and the plaintext tail "g=N").
const CP2 =
  'DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N';
const CIPHER2 =
  'E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E1C2B3075592B4D1E09C4D8BB27BE97B559E3DA6643781A6F477769DEEB009B10DFFF3426922725D607DC4480F0CAC5F70DB2587B124BCB281592721D6E4BC180A97E5E111499CBE822E31C8D7761553543AA24207C290997BBDE64F9266BC5F529A172E381C1D898CA1A0D771A914A7B2D7467C70B94F1D4A7B0350A48DBF8B41';
const CP4 =
  'DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01014-Min=3.20,a01014-Avg=3.20,a01014-Max=3.20,a01014-Flag=N';
const CIPHER4 =
  'E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E13B391A1D2A454B65388D5D9435DBF021528C7BF9755EF16518710C0CAC0ADEF9C5156CD0A5A17674AC0ED2ABC40023E9EF70128554B82438E91ADCE98A0D03A4';

describe('SM4 (GB/T 32907)', () => {
  it('encrypts the standard vector: key = plaintext = 0123456789abcdeffedcba9876543210', () => {
    const key = parseSm4Key('0123456789abcdeffedcba9876543210');
    const block = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    expect(sm4Encrypt(key, block).toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
    expect(sm4Decrypt(key, Buffer.from('681edf34d206965e86b3e94f536e4246', 'hex'))).toEqual(block);
  });

  it('leaves a tail shorter than a block in plaintext, and a short input entirely', () => {
    const key = parseSm4Key('0123456789abcdeffedcba9876543210');
    const data = Buffer.from('0123456789abcdefXYZ');
    const out = sm4Encrypt(key, data);
    expect(out.length).toBe(19);
    expect(out.subarray(16).toString()).toBe('XYZ');
    expect(sm4Decrypt(key, out)).toEqual(data);
    expect(sm4Encrypt(key, Buffer.from('short'))).toEqual(Buffer.from('short'));
  });
});

describe('HJ 212-2025 Appendix A.2 examples', () => {
  it('example 2: 13 whole blocks, the ciphertext of the reference; the frame keeps length 0295 and CRC 2200', () => {
    const seg = encryptSegment(HEAD + CP2 + '&&', TEST_KEY);
    expect(seg.subarray(HEAD.length, -2).toString('hex').toUpperCase()).toBe(CIPHER2);
    const frame = encodeEncryptedFrame(HEAD + CP2 + '&&', TEST_KEY);
    expect(frame.subarray(0, 6).toString()).toBe('##0295');
    expect(frame.subarray(-6).toString()).toBe('2200\r\n');
  });

  it('example 4: the tail "g=N" stays plaintext; length 0234, CRC B541 (of the plaintext)', () => {
    const seg = encryptSegment(HEAD + CP4 + '&&', TEST_KEY);
    const area = seg.subarray(HEAD.length, -2);
    expect(area.subarray(0, 144).toString('hex').toUpperCase()).toBe(CIPHER4);
    expect(area.subarray(144).toString()).toBe('g=N');
    const frame = encodeEncryptedFrame(HEAD + CP4 + '&&', TEST_KEY);
    expect(frame.subarray(0, 6).toString()).toBe('##0234');
    expect(frame.subarray(-6).toString()).toBe('B541\r\n');
    expect(
      encodeFrame(HEAD + CP4 + '&&')
        .subarray(-6)
        .toString(),
    ).toBe('B541\r\n');
  });

  it('the text form is the bytes as the standard prints them, then the tail; both forms decrypt back', () => {
    const text = encryptSegment(HEAD + CP4 + '&&', TEST_KEY, 'text').toString('latin1');
    expect(text.startsWith(HEAD + '{0xE4,0x3E,0x15,')).toBe(true);
    expect(text.endsWith(',0x03,0xA4}g=N&&')).toBe(true);
    for (const form of ['raw', 'text'] as const) {
      const seg = encryptSegment(HEAD + CP2 + '&&', TEST_KEY, form);
      expect(decryptSegment(seg, TEST_KEY).toString()).toBe(HEAD + CP2 + '&&');
    }
  });

  it('a frame the text form grows past 1024 bytes is refused at encoding, with the way out', () => {
    expect(() => encodeEncryptedFrame(HEAD + CP2 + '&&', TEST_KEY, { form: 'text' })).toThrow(/over 1024.*raw form/);
  });
});

describe('keys and packets', () => {
  it('a key is 32 hex digits or 16 characters; a bad one is named without being echoed, and never printed', () => {
    expect(parseSm4Key('30303030303030303030303030303030').bytes).toEqual(TEST_KEY.bytes);
    expect(() => parseSm4Key('0123456789abcdef0123')).toThrow(/expected 32 hex digits.*got 20 characters/);
    expect(() => parseSm4Key('0123456789abcdef0123')).not.toThrow(/0123456789/);
    const key = parseSm4Key('0123456789abcdeffedcba9876543210');
    expect(JSON.stringify({ key })).toBe('{"key":"[sm4 key]"}');
    expect(`${key}`).toBe('[sm4 key]');
  });

  it('data uploads (CN 2xxx), 1014 and 3020 are encrypted; replies and heartbeats are not', () => {
    expect(['2011', '2051', '2061', '2031', '1014', '3020'].every(isEncryptedCn)).toBe(true);
    expect(['9014', '9013', '9015', '1011', '3021'].some(isEncryptedCn)).toBe(false);
  });

  it('the MN and CN are read from the plaintext header, whatever the data area holds', () => {
    const seg = encryptSegment(HEAD + CP2 + '&&', TEST_KEY);
    expect(peekHeader(seg)).toEqual({ mn: '010000A8900016F000169DC0', cn: '2051' });
  });

  it('a wrong key decrypts to bytes that fail the CRC', () => {
    const frame = encodeEncryptedFrame(HEAD + CP2 + '&&', TEST_KEY);
    const [f] = new FrameReader({ binary: true }).push(frame) as RawFrame[];
    const wrong = decryptSegment(f!.segment, parseSm4Key('0123456789abcdeffedcba9876543210'));
    expect(wrong.toString('latin1')).not.toBe(HEAD + CP2 + '&&');
    expect(
      encodeFrame(HEAD + CP2 + '&&')
        .subarray(-6, -2)
        .toString(),
    ).toBe(f!.crc);
    expect(parseSegment(decryptSegment(f!.segment, TEST_KEY).toString()).cp.fields.DataTime).toBe('20240520210600');
  });
});

/** An upload at minute `m` whose raw ciphertext holds a `##` (found by trying minutes in order). */
function frameWithHashes(): Buffer {
  for (let m = 0; m < 100_000; m++) {
    const cp = CP4.replace('a01011-Min=1.35', `a01011-Min=${m}`);
    const frame = encodeEncryptedFrame(HEAD + cp + '&&', TEST_KEY);
    if (frame.indexOf('##', 6) > 0 && frame.indexOf('##', 6) < frame.length - 6) return frame;
  }
  throw new Error('no ciphertext with ## found');
}

describe('the frame reader and raw ciphertext', () => {
  it('binary: a segment holding "##" is read whole, in one push or byte by byte; without it, cut there', () => {
    const frame = frameWithHashes();
    const next = encodeFrame(HEAD + CP4 + '&&');
    const whole = new FrameReader({ binary: true }).push(Buffer.concat([frame, next]));
    expect(whole.filter((f) => !(f instanceof Hj212Error)).length).toBe(2);
    const slow = new FrameReader({ binary: true });
    const got = [...Buffer.concat([frame, next])].flatMap((b) => slow.push(Buffer.from([b])));
    expect(got.every((f) => !(f instanceof Hj212Error))).toBe(true);
    expect(got.length).toBe(2);
    expect((got[0] as RawFrame).segment.length).toBe(frame.length - 12);
    const strict = new FrameReader().push(Buffer.concat([frame, next]));
    expect(strict.some((f) => f instanceof Hj212Error && f.code === 'E_TRUNCATED')).toBe(true);
  });

  it('binary: a frame cut short still costs only itself; the one after it is read', () => {
    const next = encodeFrame(HEAD + CP4 + '&&');
    const cut = next.subarray(0, 100);
    const out = new FrameReader({ binary: true }).push(Buffer.concat([cut, next, next]));
    expect(out.filter((f) => !(f instanceof Hj212Error)).length).toBe(2);
  });
});
