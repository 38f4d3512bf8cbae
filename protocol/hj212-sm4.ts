// HJ 212-2025 SM4 encryption of the CP data area (docs/standards/hj212.md §10): SM4-ECB, a 16-byte key per
// device, no padding — every whole 16-byte block of the bytes between `CP=&&` and the closing `&&` is
// encrypted, a tail shorter than a block stays plaintext, so the ciphertext is as long as the plaintext.
// The CRC is the CRC of the plaintext segment (computed before encrypting). Nothing in the packet says it
// is encrypted: the receiver knows it from the device's configuration and the CN.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { inspect } from 'node:util';
import { encodeFrame, Hj212Error, MAX_SEGMENT, type CrcVariant } from './hj212.ts';

const BLOCK = 16;
const CP_OPEN = Buffer.from('CP=&&', 'latin1');

/**
 * How the ciphertext travels. UNVERIFIED: the standard prints it as `{0xE4,0x3E,…}`, but its length
 * fields count one byte per plaintext character, which only raw bytes give. `raw` (the default): the
 * cipher bytes themselves; `text`: the printed `{0xNN,…}` form followed by the plaintext tail.
 */
export type Sm4Form = 'raw' | 'text';
export const SM4_FORMS: readonly Sm4Form[] = ['raw', 'text'];

/**
 * A device's key: 16 bytes. Printing, logging or serialising it shows `[sm4 key]`, never the bytes, so
 * a config dumped to a log or a status cannot leak it.
 */
export class Sm4Key {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    if (bytes.length !== BLOCK) throw new RangeError(`an SM4 key is ${BLOCK} bytes, got ${bytes.length}`);
    this.#bytes = Buffer.from(bytes);
  }

  /** The key bytes, for the cipher only. */
  get bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): string {
    return '[sm4 key]';
  }

  toString(): string {
    return '[sm4 key]';
  }

  [inspect.custom](): string {
    return '[sm4 key]';
  }
}

/**
 * A key as configured: 32 hex digits (the 16 bytes), or 16 characters taken as their ASCII bytes (the
 * standard's test key is sixteen "0", and CN 1014 hands out `NewSK=` as 16 characters — UNVERIFIED that
 * those are the key bytes). Throws a message that never echoes the key.
 */
export function parseSm4Key(text: string): Sm4Key {
  if (/^[0-9a-fA-F]{32}$/.test(text)) return new Sm4Key(Buffer.from(text, 'hex'));
  if (/^[\x21-\x7e]{16}$/.test(text)) return new Sm4Key(Buffer.from(text, 'latin1'));
  throw new RangeError(
    `expected 32 hex digits (16 bytes) or 16 printable ASCII characters, got ${text.length} characters`,
  );
}

/** SM4-ECB over the whole blocks of `data`; a tail shorter than a block is copied as it is. */
function ecb(key: Sm4Key, data: Buffer, decrypt: boolean): Buffer {
  const whole = data.length - (data.length % BLOCK);
  const out = Buffer.from(data);
  if (whole === 0) return out;
  const c = decrypt ? createDecipheriv('sm4-ecb', key.bytes, null) : createCipheriv('sm4-ecb', key.bytes, null);
  c.setAutoPadding(false);
  const done = Buffer.concat([c.update(data.subarray(0, whole)), c.final()]);
  done.copy(out, 0);
  return out;
}

export const sm4Encrypt = (key: Sm4Key, data: Buffer): Buffer => ecb(key, data, false);
export const sm4Decrypt = (key: Sm4Key, data: Buffer): Buffer => ecb(key, data, true);

/** HJ 212-2025 §6.4.4: data the logger sends (CN 2000–2999), key requests (1014) and 3020 are encrypted. */
export const isEncryptedCn = (cn: string): boolean => /^2\d{3}$/.test(cn) || cn === '1014' || cn === '3020';

/** Where the CP data area of a segment starts and ends (between `CP=&&` and the final `&&`), or null. */
function cpBounds(segment: Buffer): { from: number; to: number } | null {
  const at = segment.indexOf(CP_OPEN);
  const to = segment.length - 2;
  if (at < 0 || to < at + CP_OPEN.length || segment[to] !== 0x26 || segment[to + 1] !== 0x26) return null;
  return { from: at + CP_OPEN.length, to };
}

/**
 * The MN and CN of a segment, read from its plaintext header (before `CP=&&`) alone: the data area may
 * be ciphertext, and the MN says whose key opens it.
 */
export function peekHeader(segment: Buffer): { mn?: string; cn?: string } {
  const at = segment.indexOf(CP_OPEN);
  const head = segment.toString('latin1', 0, at < 0 ? segment.length : at);
  const out: { mn?: string; cn?: string } = {};
  for (const item of head.split(';')) {
    if (item.startsWith('MN=')) out.mn ??= item.slice(3);
    else if (item.startsWith('CN=')) out.cn ??= item.slice(3);
  }
  return out;
}

/** The segment with its CP data area encrypted, in the given form. */
export function encryptSegment(segment: string, key: Sm4Key, form: Sm4Form = 'raw'): Buffer {
  const plain = Buffer.from(segment, 'utf8');
  const cp = cpBounds(plain);
  if (!cp) throw new Hj212Error('E_SYNTAX', 'no CP=&&…&& data area at the end of the segment');
  const area = plain.subarray(cp.from, cp.to);
  const cipher = sm4Encrypt(key, area);
  const whole = area.length - (area.length % BLOCK);
  const body =
    form === 'raw'
      ? cipher
      : Buffer.concat([Buffer.from(textForm(cipher.subarray(0, whole)), 'latin1'), area.subarray(whole)]);
  return Buffer.concat([plain.subarray(0, cp.from), body, plain.subarray(cp.to)]);
}

/** `{0xE4,0x3E,…}`: the bytes as the standard prints them; nothing when there is no whole block. */
const textForm = (b: Buffer): string =>
  b.length ? `{${[...b].map((x) => '0x' + x.toString(16).toUpperCase().padStart(2, '0')).join(',')}}` : '';

const TEXT_FORM = /^\{0x[0-9A-Fa-f]{2}(?:,0x[0-9A-Fa-f]{2})*\}/;

/**
 * The plaintext segment of an encrypted one, in either form: a data area that starts with `{0x..` is
 * the text form, anything else raw bytes. A text form whose byte count is not whole blocks is refused.
 */
export function decryptSegment(segment: Buffer, key: Sm4Key): Buffer {
  const cp = cpBounds(segment);
  if (!cp) throw new Hj212Error('E_SYNTAX', 'no CP=&&…&& data area at the end of the segment');
  const area = segment.subarray(cp.from, cp.to);
  let plain: Buffer;
  const m = TEXT_FORM.exec(area.toString('latin1', 0, Math.min(area.length, 5 * 1024)));
  if (m) {
    const bytes = Buffer.from(m[0].replace(/0x|[{},]/g, ''), 'hex');
    if (bytes.length % BLOCK)
      throw new Hj212Error('E_SYNTAX', `SM4 ciphertext of ${bytes.length} bytes is not whole 16-byte blocks`);
    plain = Buffer.concat([sm4Decrypt(key, bytes), area.subarray(m[0].length)]);
  } else plain = sm4Decrypt(key, area);
  return Buffer.concat([segment.subarray(0, cp.from), plain, segment.subarray(cp.to)]);
}

/**
 * A whole frame whose CP data area is encrypted: the length counts the bytes sent, the CRC is that of
 * the plaintext segment (HJ 212-2025 Appendix A.2: CRC first, then encrypt).
 */
export function encodeEncryptedFrame(
  segment: string,
  key: Sm4Key,
  o: { form?: Sm4Form; crc?: CrcVariant } = {},
): Buffer {
  const plainFrame = encodeFrame(segment, o.crc); // also refuses a plaintext segment over 1024 bytes
  const crc = plainFrame.subarray(plainFrame.length - 6);
  const body = encryptSegment(segment, key, o.form);
  // Only the text form grows (5 characters a byte); a reader refuses a segment over 1024 either way.
  if (body.length > MAX_SEGMENT)
    throw new RangeError(
      `encrypted data segment of ${body.length} bytes is over ${MAX_SEGMENT}: split the packet, or send the raw form`,
    );
  return Buffer.concat([Buffer.from(`##${String(body.length).padStart(4, '0')}`, 'latin1'), body, crc]);
}
