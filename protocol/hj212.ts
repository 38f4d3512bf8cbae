// HJ 212 frames (2017, and 2025 without its SM4 option): `##` + 4-digit length + data segment + CRC + CR LF
// (docs/standards/hj212.md §1, §8). A streaming reader that resyncs on garbage, a strict segment parser,
// data packets → envelope records, and the replies a data logger waits for.
import type { Aggregation, SampleRecord } from './envelope.ts';
import type { DeviceKind } from './kinds.ts';
import { pollutantByCode } from './pollutants.ts';
import { HOUR } from './time.ts';

export const MAX_SEGMENT = 1024;

/**
 * HJ 212 CRC16 (Appendix A): init 0xFFFF, reg = (reg >> 8) ^ byte, then 8 shifts with 0xA001. Not
 * CRC-16/MODBUS (reg ^= byte), which some vendors use instead: `crc16Modbus`.
 */
export function crc16Hj212(data: Uint8Array): number {
  let reg = 0xffff;
  for (const b of data) {
    reg = (reg >> 8) ^ b;
    for (let i = 0; i < 8; i++) reg = reg & 1 ? (reg >> 1) ^ 0xa001 : reg >> 1;
  }
  return reg;
}

export function crc16Modbus(data: Uint8Array): number {
  let reg = 0xffff;
  for (const b of data) {
    reg ^= b;
    for (let i = 0; i < 8; i++) reg = reg & 1 ? (reg >> 1) ^ 0xa001 : reg >> 1;
  }
  return reg;
}

/** `modbus` writes the register high byte first, `modbus-le` low byte first (both are seen in the field). */
export type CrcVariant = 'hj212' | 'modbus' | 'modbus-le';
export const CRC_VARIANTS: readonly CrcVariant[] = ['hj212', 'modbus', 'modbus-le'];
const swap = (n: number) => ((n & 0xff) << 8) | (n >> 8);
const CRC: Record<CrcVariant, (d: Uint8Array) => number> = {
  hj212: crc16Hj212,
  modbus: crc16Modbus,
  'modbus-le': (d) => swap(crc16Modbus(d)),
};
const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/** A whole frame for a data segment: the length counts UTF-8 bytes; the CRC is written in upper case. */
export function encodeFrame(segment: string, crc: CrcVariant = 'hj212'): Buffer {
  const body = Buffer.from(segment, 'utf8');
  if (body.length > MAX_SEGMENT)
    throw new RangeError(`data segment of ${body.length} bytes is over ${MAX_SEGMENT}: split the packet`);
  return Buffer.concat([
    Buffer.from(`##${String(body.length).padStart(4, '0')}`),
    body,
    Buffer.from(`${hex4(CRC[crc](body))}\r\n`),
  ]);
}

export type FrameErrorCode =
  | 'E_HEADER'
  | 'E_LENGTH_FORMAT'
  | 'E_LENGTH_RANGE'
  | 'E_TRUNCATED'
  | 'E_CRC_FORMAT'
  | 'E_TERMINATOR'
  | 'E_CRC_MISMATCH'
  | 'E_SYNTAX';

export class Hj212Error extends Error {
  constructor(
    readonly code: FrameErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'Hj212Error';
  }
}

/** A frame cut from the stream: its data segment and declared CRC, not yet checked. */
export interface RawFrame {
  segment: Buffer;
  crc: string;
}

/** A whole frame: `##`, 4-digit length, segment, CRC, CR LF. */
export const MAX_FRAME = MAX_SEGMENT + 12;

const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);
/** `cut` needs more bytes to decide. */
const WAIT = -1;

/**
 * Index of the first `##` in b[from, to) (both bytes inside), or -1. Native indexOf jumps over bytes that
 * are not `#`; a `#` not followed by another skips both bytes.
 */
function findHeader(b: Buffer, from: number, to: number): number {
  let i = from;
  while (i + 1 < to) {
    if (b[i] !== HASH) {
      i = b[i + 1] === HASH ? i + 1 : b.indexOf(HASH, i + 2);
      if (i < 0) return -1;
    } else if (b[i + 1] === HASH) return i;
    else i += 2;
  }
  return -1;
}

/** The 4-digit length at b[at], or -1. Byte by byte: no string, no regex, no allocation. */
function lengthAt(b: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function isHex4(b: Buffer, at: number): boolean {
  for (let i = at; i < at + 4; i++) {
    const c = b[i]! | 0x20; // folds A-F to a-f; digits keep their code
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** What went wrong with the candidate at `at` (declared length `len`): built only when it is reported. */
function framingError(code: FrameErrorCode, b: Buffer, at: number, len: number, bytes: number): Hj212Error {
  const field = (from: number) => JSON.stringify(b.toString('latin1', from, from + 4));
  switch (code) {
    case 'E_HEADER':
      return new Hj212Error(code, `${bytes} bytes before "##" skipped`);
    case 'E_LENGTH_FORMAT':
      return new Hj212Error(code, `length field ${field(at + 2)} is not 4 digits`);
    case 'E_LENGTH_RANGE':
      return new Hj212Error(code, `declared data segment of ${len} is over ${MAX_SEGMENT}`);
    case 'E_CRC_FORMAT':
      return new Hj212Error(
        code,
        `no hex CRC after the declared ${len} characters (found ${field(at + 6 + len)}): is the length field wrong?`,
      );
    case 'E_TERMINATOR':
      return new Hj212Error(code, `no CR LF after the CRC of a ${len}-character segment: is the length field wrong?`);
    default:
      return new Hj212Error(
        code,
        `a "##" ${bytes} bytes into a declared ${len}-byte data segment: the frame was cut short, resumed there`,
      );
  }
}

/**
 * Cuts frames out of a byte stream (docs/standards/hj212.md §1.3, checks 1–6). Garbage before `##` is
 * skipped; a candidate that fails a check is dropped and the reader resumes at the next `##` after its
 * start, so a stray `#` or a bogus header never costs the frame after it. A data segment never holds
 * `##`: a candidate whose declared segment does was cut short, and the reader resumes at that `##`
 * (so a wrong length can never swallow the frames behind it). Each run of garbage is reported once, and
 * resyncing allocates nothing per candidate: a stream of `##9` costs what any garbage costs. Between
 * pushes it holds at most an incomplete frame, MAX_FRAME - 1 bytes; `end` drops it.
 */
export class FrameReader {
  /**
   * `binary`: data segments may hold any byte (HJ 212-2025 SM4 ciphertext sent raw), so a `##` inside
   * one does not cut the candidate short while its declared end may still bring the CRC and CR LF.
   */
  constructor(private readonly o: { binary?: boolean } = {}) {}

  private buf: Buffer = EMPTY;
  /** After a framing error, candidates that fail too are part of the same garbage: reported once. */
  private resyncing = false;
  /** How far into the held candidate (buf[0]) no `##` was found, so a frame arriving slowly is searched once. */
  private searched = 0;

  push(chunk: Buffer): (RawFrame | Hj212Error)[] {
    const b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: (RawFrame | Hj212Error)[] = [];
    const searched = this.searched;
    this.searched = 0;
    let p = 0;
    while (p < b.length) {
      const at = findHeader(b, p, b.length);
      if (at < 0) {
        // Keep a lone trailing '#': it may be half of the next header.
        const keep = b[b.length - 1] === HASH ? 1 : 0;
        if (b.length - keep > p) this.fail(out, 'E_HEADER', b, p, 0, b.length - keep - p);
        p = b.length - keep;
        break;
      }
      if (at > p) this.fail(out, 'E_HEADER', b, p, 0, at - p);
      const next = this.cut(b, at, out, at === 0 ? searched : 0);
      if (next === WAIT) {
        p = at;
        break;
      }
      p = next;
    }
    // A copy: a held remainder must not pin the whole chunk it came in.
    this.buf = p < b.length ? Buffer.from(b.subarray(p)) : EMPTY;
    return out;
  }

  /** Checks the candidate at `at`; returns where to go on, or WAIT. `searched`: bytes already known free of `##`. */
  private cut(b: Buffer, at: number, out: (RawFrame | Hj212Error)[], searched: number): number {
    if (b.length - at < 6) return WAIT;
    const len = lengthAt(b, at + 2);
    if (len < 0) return this.fail(out, 'E_LENGTH_FORMAT', b, at, 0, 0, at + 1);
    if (len > MAX_SEGMENT) return this.fail(out, 'E_LENGTH_RANGE', b, at, len, 0, at + 1);
    const end = at + 6 + len; // end of the data segment
    const inner = findHeader(b, at + Math.max(6, searched), Math.min(end, b.length));
    if (inner >= 0 && this.o.binary && b.length < end + 6) return WAIT;
    if (inner >= 0 && !(this.o.binary && isHex4(b, end) && b[end + 4] === CR && b[end + 5] === LF))
      return this.fail(out, 'E_TRUNCATED', b, at, len, inner - at - 6, inner);
    if (b.length < end + 6) {
      this.searched = Math.max(6, Math.min(end, b.length) - 1 - at); // the last byte may start a `##`
      return WAIT;
    }
    // No `##` starts inside the segment or the header: the next one can start at its last byte at the earliest.
    if (!isHex4(b, end)) return this.fail(out, 'E_CRC_FORMAT', b, at, len, 0, end - 1);
    if (b[end + 4] !== CR || b[end + 5] !== LF) return this.fail(out, 'E_TERMINATOR', b, at, len, 0, end - 1);
    out.push({ segment: Buffer.from(b.subarray(at + 6, end)), crc: b.toString('latin1', end, end + 4) });
    this.resyncing = false;
    return end + 6;
  }

  /** Reports the start of a run of garbage (later failures of the same run cost nothing); returns `resume`. */
  private fail(
    out: (RawFrame | Hj212Error)[],
    code: FrameErrorCode,
    b: Buffer,
    at: number,
    len: number,
    bytes: number,
    resume = 0,
  ): number {
    if (!this.resyncing) out.push(framingError(code, b, at, len, bytes));
    this.resyncing = true;
    return resume;
  }

  /** The stream ended (or went quiet too long): what is left is a truncated frame, reported and dropped. */
  end(): Hj212Error | null {
    const n = this.buf.length;
    this.buf = EMPTY;
    this.resyncing = false;
    this.searched = 0;
    return n ? new Hj212Error('E_TRUNCATED', `${n} bytes of an incomplete frame dropped`) : null;
  }

  /** Bytes of an incomplete frame held: at most MAX_FRAME - 1. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Checks a frame's CRC (case-insensitive) under the given variant. */
export function checkCrc(f: RawFrame, crc: CrcVariant = 'hj212'): void {
  const want = hex4(CRC[crc](f.segment));
  if (f.crc.toUpperCase() !== want) throw new Hj212Error('E_CRC_MISMATCH', `declared CRC ${f.crc}, computed ${want}`);
}

export interface Packet {
  qn?: string;
  st: string;
  cn: string;
  pw?: string;
  mn: string;
  /** Flag byte; absent in 2005-style packets. */
  flag?: number;
  pnum?: number;
  pno?: number;
  /** HJ 212-2025 `RF=1`: a re-sent (补传) packet. */
  resent: boolean;
  /** CP items: `DataTime` and such as plain fields, factor fields grouped by code. */
  cp: { fields: Record<string, string>; factors: Map<string, Record<string, string>> };
}

export const needsAck = (p: Packet): boolean => p.flag !== undefined && (p.flag & 1) === 1;
/** Version bits: 0 HJ/T 212-2005, 1 HJ 212-2017, 2 HJ 212-2025. */
export const versionOf = (p: Packet): number => (p.flag ?? 0) >> 2;

/** Parses a data segment `QN=…;ST=..;CN=….;PW=…;MN=…;Flag=.;CP=&&…&&` (docs/standards/hj212.md §2); header order is free. */
export function parseSegment(segment: string): Packet {
  const cpAt = segment.indexOf('CP=&&');
  if (cpAt < 0 || !segment.endsWith('&&') || segment.length < cpAt + 7)
    throw new Hj212Error('E_SYNTAX', 'no CP=&&…&& data area at the end of the segment');
  const head: Record<string, string> = {};
  for (const part of segment.slice(0, cpAt).split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Hj212Error('E_SYNTAX', `header item ${JSON.stringify(part)} is not NAME=value`);
    head[part.slice(0, eq)] = part.slice(eq + 1);
  }
  for (const k of ['ST', 'CN', 'MN']) if (head[k] === undefined) throw new Hj212Error('E_SYNTAX', `header has no ${k}`);
  if (!/^\d{4}$/.test(head.CN!)) throw new Hj212Error('E_SYNTAX', `CN ${JSON.stringify(head.CN)} is not 4 digits`);
  // ST is 2 characters in the standard; a device seen in the field sends 3: accept 1–3 letters or digits.
  if (!/^[0-9A-Za-z]{1,3}$/.test(head.ST!))
    throw new Hj212Error('E_SYNTAX', `ST ${JSON.stringify(head.ST)} is not 2 letters or digits`);
  if (head.QN !== undefined && !/^\d{17}$/.test(head.QN))
    throw new Hj212Error('E_SYNTAX', `QN ${JSON.stringify(head.QN)} is not 17 digits`);
  let flag: number | undefined;
  if (head.Flag !== undefined) {
    if (!/^\d{1,3}$/.test(head.Flag) || Number(head.Flag) > 255)
      throw new Hj212Error('E_SYNTAX', `Flag ${JSON.stringify(head.Flag)} is not 0-255`);
    flag = Number(head.Flag);
  }
  const cp = parseCp(segment.slice(cpAt + 5, -2));
  const p: Packet = { st: head.ST!, cn: head.CN!, mn: head.MN!, resent: head.RF === '1', cp };
  if (head.QN !== undefined) p.qn = head.QN;
  if (head.PW !== undefined) p.pw = head.PW;
  if (flag !== undefined) p.flag = flag;
  if (head.PNUM !== undefined) p.pnum = Number(head.PNUM);
  if (head.PNO !== undefined) p.pno = Number(head.PNO);
  return p;
}

/**
 * The parts of split packets (PNUM parts numbered PNO 1…PNUM, one QN) put back together: the whole
 * packet, its CP items of every part in PNO order, once the last part is in. Bounded: at most `maxSets`
 * packets wait, each at most `maxAgeMs`; what expires is handed back to be counted.
 */
export class PacketAssembler {
  private sets = new Map<string, { parts: Map<number, Packet>; firstAt: number; of: number }>();

  constructor(
    private readonly maxSets = 256,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** Takes a part; returns the whole packet once complete, else null. A part sent again replaces itself. */
  add(p: Packet, now = Date.now()): Packet | null {
    const of = p.pnum!;
    if (!Number.isInteger(of) || of < 1 || of > 999) throw new Hj212Error('E_SYNTAX', `PNUM ${p.pnum} is not 1–999`);
    if (!Number.isInteger(p.pno) || p.pno! < 1 || p.pno! > of)
      throw new Hj212Error('E_SYNTAX', `PNO ${p.pno} is not 1–${of} (PNUM ${of})`);
    const key = `${p.mn} ${p.qn ?? ''} ${p.cn}`;
    let set = this.sets.get(key);
    if (!set || set.of !== of) {
      if (!set && this.sets.size >= this.maxSets) this.sets.delete(this.sets.keys().next().value!);
      this.sets.set(key, (set = { parts: new Map(), firstAt: now, of }));
    }
    set.parts.set(p.pno!, p);
    if (set.parts.size < of) return null;
    this.sets.delete(key);
    const parts = [...set.parts.values()].sort((a, b) => a.pno! - b.pno!);
    const whole: Packet = { ...parts[0]!, cp: { fields: {}, factors: new Map() } };
    delete whole.pnum;
    delete whole.pno;
    for (const part of parts) {
      for (const [k, v] of Object.entries(part.cp.fields)) whole.cp.fields[k] ??= v;
      for (const [code, f] of part.cp.factors) whole.cp.factors.set(code, { ...f, ...whole.cp.factors.get(code) });
    }
    return whole;
  }

  /** Drops packets whose parts did not all come within maxAgeMs; returns them (MN, parts had, parts of). */
  expire(now = Date.now()): { mn: string; have: number; of: number }[] {
    const out: { mn: string; have: number; of: number }[] = [];
    for (const [key, set] of this.sets)
      if (now - set.firstAt > this.maxAgeMs) {
        this.sets.delete(key);
        out.push({ mn: key.split(' ')[0]!, have: set.parts.size, of: set.of });
      }
    return out;
  }
}

/** `k=v,k=v;k=v`: items by `;`, fields of one item by `,`; `a21026-Rtd` groups under factor a21026. */
function parseCp(cp: string): Packet['cp'] {
  const out: Packet['cp'] = { fields: {}, factors: new Map() };
  if (cp === '') return out;
  for (const item of cp.split(';')) {
    for (const kv of item.split(',')) {
      if (kv === '') continue;
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Hj212Error('E_SYNTAX', `CP field ${JSON.stringify(kv)} is not NAME=value`);
      const name = kv.slice(0, eq);
      const value = kv.slice(eq + 1);
      const dash = name.lastIndexOf('-');
      if (dash > 0) {
        const code = name.slice(0, dash);
        let f = out.factors.get(code);
        if (!f) out.factors.set(code, (f = {}));
        f[name.slice(dash + 1)] ??= value;
      } else out.fields[name] ??= value; // repeated keys (PolId groups of CN 3020): the first counts
    }
  }
  return out;
}

/** `YYYYMMDDhhmmss` in a fixed UTC offset (Beijing time by default) → epoch ms. */
export function parseDataTime(s: string, offsetHours = 8): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new Hj212Error('E_SYNTAX', `DataTime ${JSON.stringify(s)} is not YYYYMMDDhhmmss`);
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  const ts = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!) - offsetHours * HOUR;
  const back = new Date(ts + offsetHours * HOUR);
  if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d! || h! > 23 || mi! > 59 || se! > 59)
    throw new Hj212Error('E_SYNTAX', `DataTime ${s} is not a real time`);
  return ts;
}

/** Data commands and the interval their values cover (DataTime is the interval's start). */
export const DATA_CNS: Record<string, Aggregation> = { '2011': 'rt', '2051': 'min', '2061': 'hour', '2031': 'day' };

/** Value suffixes (docs/standards/hj212.md §5) → envelope field-name suffixes; -Rtd is the bare key. */
const SUFFIX: Record<string, string> = {
  Rtd: '',
  ZsRtd: '_zs',
  Min: '_min',
  Avg: '_avg',
  Max: '_max',
  Cou: '_cou',
  ZsMin: '_zsmin',
  ZsAvg: '_zsavg',
  ZsMax: '_zsmax',
};

export interface Conversion {
  record: SampleRecord;
  /** Factor codes with no registry key (vendor extensions such as a21026z), and fields skipped. */
  unknown: string[];
}

/**
 * A data packet (CN 2011/2051/2061/2031) as an envelope record: registry keys from the 2017 or 2005
 * codes, suffixes as statistics, each factor's flag on all of its fields, units scaled by `scale`
 * (per code: HJ 212's default units are not always the registry's); `codes` maps a device's own
 * factor codes to registry keys.
 */
export function toRecord(
  p: Packet,
  dev: string,
  kind: DeviceKind,
  o: { scale?: Record<string, number>; codes?: Record<string, string>; offsetHours?: number } = {},
): Conversion {
  const agg = DATA_CNS[p.cn];
  if (!agg) throw new Hj212Error('E_SYNTAX', `CN ${p.cn} is not a data upload (2011, 2051, 2061, 2031)`);
  const dt = p.cp.fields.DataTime;
  if (dt === undefined) throw new Hj212Error('E_SYNTAX', 'data packet has no DataTime');
  const record: SampleRecord = { dev, kind, ts: parseDataTime(dt, o.offsetHours), m: {} };
  if (agg !== 'rt') record.agg = agg;
  const unknown: string[] = [];
  for (const [code, fields] of p.cp.factors) {
    // A device's own codes come first: platforms name what HJ 212-2017 has no code for (catering fumes).
    const key = (o.codes && Object.hasOwn(o.codes, code) ? o.codes[code] : undefined) ?? pollutantByCode(code)?.key;
    if (!key) {
      unknown.push(code);
      continue;
    }
    const scale = o.scale && Object.hasOwn(o.scale, code) ? o.scale[code]! : 1;
    const names: string[] = [];
    for (const [suffix, text] of Object.entries(fields)) {
      if (suffix === 'Flag' || suffix === 'EFlag' || suffix === 'SampleTime') continue;
      const s = SUFFIX[suffix];
      const v = Number(text);
      if (s === undefined || text === '' || !Number.isFinite(v)) {
        unknown.push(`${code}-${suffix}`);
        continue;
      }
      // `scale` converts a concentration unit; a -Cou total (kg, m³) is not in that unit.
      record.m[key + s] = suffix === 'Cou' ? v : v * scale;
      names.push(key + s);
    }
    const flag = fields.Flag;
    if (flag && flag !== 'N' && names.length) {
      record.f ??= {};
      for (const n of names) record.f[n] = flag;
    }
  }
  return { record, unknown };
}

/** The reply to a packet: 9014 for a data upload, 9013 for a notice or heartbeat (same QN, ST 91, no ack asked). */
export function replyTo(p: Packet, crc: CrcVariant = 'hj212'): Buffer {
  const cn = DATA_CNS[p.cn] ? '9014' : '9013';
  const flag = versionOf(p) << 2;
  const qn = p.qn !== undefined ? `QN=${p.qn};` : '';
  const pw = p.pw !== undefined ? `PW=${p.pw};` : '';
  return encodeFrame(`${qn}ST=91;CN=${cn};${pw}MN=${p.mn};Flag=${flag};CP=&&&&`, crc);
}

/** A platform's request to a site (CN 1011 get its time, 1012 set it …), asking for an answer. */
export function requestFrame(
  r: { qn: string; st: string; cn: string; pw?: string; mn: string; cp?: Record<string, string> },
  crc: CrcVariant = 'hj212',
  /** 5: HJ 212-2017, an answer wanted; 4: none (a site's upload answering a request). */
  flag = 5,
): Buffer {
  const cp = Object.entries(r.cp ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  const pw = r.pw !== undefined ? `PW=${r.pw};` : '';
  return encodeFrame(`QN=${r.qn};ST=${r.st};CN=${r.cn};${pw}MN=${r.mn};Flag=${flag};CP=&&${cp}&&`, crc);
}

/** A site's answer to a request: 9011 with QnRtn, or 9012 with ExeRtn (same QN, ST 91). */
export function answerFrame(p: Packet, cn: '9011' | '9012', value: number, crc: CrcVariant = 'hj212'): Buffer {
  const field = cn === '9011' ? 'QnRtn' : 'ExeRtn';
  const pw = p.pw !== undefined ? `PW=${p.pw};` : '';
  return encodeFrame(`QN=${p.qn ?? ''};ST=91;CN=${cn};${pw}MN=${p.mn};Flag=4;CP=&&${field}=${value}&&`, crc);
}

/** Epoch ms → `YYYYMMDDhhmmss` at a fixed UTC offset (Beijing time by default). */
export function formatDataTime(ts: number, offsetHours = 8): string {
  return new Date(ts + offsetHours * HOUR).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** `QN` of a request sent at `ts`: `YYYYMMDDhhmmsszzz` in Beijing time. */
export function qnAt(ts: number, offsetHours = 8): string {
  return new Date(ts + offsetHours * HOUR)
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 17);
}

export interface DataUpload {
  qn: string;
  st: string;
  cn: string;
  pw: string;
  mn: string;
  /** Flag byte: 5 = HJ 212-2017 with an answer wanted. */
  flag: number;
  dataTime: string;
  /** Factor code → its fields (`Rtd`, `ZsRtd`, `Avg`, `Flag` …), written in this order. */
  factors: Record<string, Record<string, string | number>>;
  resent?: boolean;
}

/**
 * An upload split into `parts` packets (HJ 212-2017 §6.3: PNUM and PNO, Flag bit D): one QN, each part
 * with the DataTime and its share of the factors.
 */
export function splitUploadSegments(u: DataUpload, parts: number): string[] {
  const codes = Object.keys(u.factors);
  const n = Math.max(1, Math.min(parts, codes.length));
  const per = Math.ceil(codes.length / n);
  return Array.from({ length: n }, (_, i) => {
    const mine = Object.fromEntries(codes.slice(i * per, (i + 1) * per).map((c) => [c, u.factors[c]!]));
    return uploadSegment({ ...u, flag: u.flag | 2, factors: mine }).replace(
      `;Flag=${u.flag | 2};`,
      `;Flag=${u.flag | 2};PNUM=${n};PNO=${i + 1};`,
    );
  });
}

/** The data segment of an upload (the inverse of parseSegment for data packets). */
export function uploadSegment(u: DataUpload): string {
  const items = Object.entries(u.factors).map(([code, fields]) =>
    Object.entries(fields)
      .map(([s, v]) => `${code}-${s}=${v}`)
      .join(','),
  );
  return `QN=${u.qn};ST=${u.st};CN=${u.cn};PW=${u.pw};MN=${u.mn};Flag=${u.flag};${u.resent ? 'RF=1;' : ''}CP=&&${['DataTime=' + u.dataTime, ...items].join(';')}&&`;
}

/** Interval data a platform can fetch from a logger's memory (HJ 212-2017 Table 9: 取…历史数据). */
export const HISTORY_CNS = ['2051', '2061', '2031'] as const;
export type HistoryCn = (typeof HISTORY_CNS)[number];
export const isHistoryCn = (cn: string): cn is HistoryCn => (HISTORY_CNS as readonly string[]).includes(cn);

/** QnRtn (9011, Table 7) and ExeRtn (9012, Table 6) values the history exchange uses. */
export const QN_RTN = { ready: 1, rejected: 2 } as const;
export const EXE_RTN = { success: 1, failed: 2, conditionError: 3, noData: 100 } as const;

/**
 * A platform's request for a logger's interval data between BeginTime and EndTime (both included,
 * `YYYYMMDDhhmmss` at the link's UTC offset): the logger answers 9011, the data packets, then 9012.
 */
export function historyRequestFrame(
  r: { qn: string; st: string; cn: HistoryCn; pw?: string; mn: string; begin: number; end: number },
  o: { crc?: CrcVariant; offsetHours?: number; flag?: number } = {},
): Buffer {
  const cp = { BeginTime: formatDataTime(r.begin, o.offsetHours), EndTime: formatDataTime(r.end, o.offsetHours) };
  const { begin: _b, end: _e, ...head } = r;
  return requestFrame({ ...head, cp }, o.crc, o.flag);
}

/** BeginTime and EndTime of a history request (epoch ms); an E_SYNTAX error names what is missing or wrong. */
export function historyWindowOf(p: Packet, offsetHours = 8): { begin: number; end: number } {
  const { BeginTime: b, EndTime: e } = p.cp.fields;
  if (b === undefined || e === undefined)
    throw new Hj212Error('E_SYNTAX', `history request CN ${p.cn} has no ${b === undefined ? 'BeginTime' : 'EndTime'}`);
  const begin = parseDataTime(b, offsetHours);
  const end = parseDataTime(e, offsetHours);
  if (end < begin) throw new Hj212Error('E_SYNTAX', `history request ends (${e}) before it begins (${b})`);
  return { begin, end };
}

/** The QnRtn of a 9011 or ExeRtn of a 9012 (NaN when absent or not a number). */
export function answerCode(p: Packet): number {
  const v = p.cn === '9011' ? p.cp.fields.QnRtn : p.cn === '9012' ? p.cp.fields.ExeRtn : undefined;
  return v === undefined || v === '' ? NaN : Number(v);
}
