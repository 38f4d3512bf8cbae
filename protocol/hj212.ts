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

/**
 * Cuts frames out of a byte stream (docs/standards/hj212.md §1.3, checks 1–6). Garbage before `##` is skipped; a frame whose
 * length does not land on a hex CRC and CR LF is dropped and the reader resyncs at the next `##`; each
 * run of garbage is reported once. An incomplete frame stays buffered until `end`.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  /** After a framing error, candidates that fail too are part of the same garbage: reported once. */
  private resyncing = false;

  push(chunk: Buffer): (RawFrame | Hj212Error)[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: (RawFrame | Hj212Error)[] = [];
    const fail = (e: Hj212Error, skip: number) => {
      if (!this.resyncing) out.push(e);
      this.resyncing = true;
      this.buf = this.buf.subarray(skip);
    };
    for (;;) {
      const start = this.buf.indexOf('##');
      if (start < 0) {
        // Keep a lone trailing '#': it may be half of the next header.
        const keep = this.buf.length && this.buf[this.buf.length - 1] === 0x23 ? 1 : 0;
        if (this.buf.length - keep > 0)
          fail(
            new Hj212Error('E_HEADER', `${this.buf.length - keep} bytes before any "##" skipped`),
            this.buf.length - keep,
          );
        return out;
      }
      if (start > 0) fail(new Hj212Error('E_HEADER', `${start} bytes before "##" skipped`), start);
      if (this.buf.length < 6) return out;
      const lenText = this.buf.toString('latin1', 2, 6);
      if (!/^\d{4}$/.test(lenText)) {
        fail(new Hj212Error('E_LENGTH_FORMAT', `length field ${JSON.stringify(lenText)} is not 4 digits`), 2);
        continue;
      }
      const len = Number(lenText);
      if (len > MAX_SEGMENT) {
        fail(new Hj212Error('E_LENGTH_RANGE', `declared data segment of ${len} is over ${MAX_SEGMENT}`), 2);
        continue;
      }
      if (this.buf.length < len + 12) return out; // incomplete: wait for more (end() reports it)
      const crc = this.buf.toString('latin1', 6 + len, 10 + len);
      if (!/^[0-9A-Fa-f]{4}$/.test(crc)) {
        fail(
          new Hj212Error(
            'E_CRC_FORMAT',
            `no hex CRC after the declared ${len} characters (found ${JSON.stringify(crc)}): is the length field wrong?`,
          ),
          2,
        );
        continue;
      }
      if (this.buf[10 + len] !== 0x0d || this.buf[11 + len] !== 0x0a) {
        fail(
          new Hj212Error(
            'E_TERMINATOR',
            `no CR LF after the CRC of a ${len}-character segment: is the length field wrong?`,
          ),
          2,
        );
        continue;
      }
      out.push({ segment: Buffer.from(this.buf.subarray(6, 6 + len)), crc });
      this.resyncing = false;
      this.buf = this.buf.subarray(12 + len);
    }
  }

  /** The stream ended (or went quiet too long): what is left is a truncated frame, reported and dropped. */
  end(): Hj212Error | null {
    const n = this.buf.length;
    this.buf = Buffer.alloc(0);
    this.resyncing = false;
    return n ? new Hj212Error('E_TRUNCATED', `${n} bytes of an incomplete frame dropped`) : null;
  }

  /** Bytes of an incomplete frame held. */
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
 * (per code: HJ 212's default units are not always the registry's).
 */
export function toRecord(
  p: Packet,
  dev: string,
  kind: DeviceKind,
  o: { scale?: Record<string, number>; offsetHours?: number } = {},
): Conversion {
  const agg = DATA_CNS[p.cn];
  if (!agg) throw new Hj212Error('E_SYNTAX', `CN ${p.cn} is not a data upload (2011, 2051, 2061, 2031)`);
  const dt = p.cp.fields.DataTime;
  if (dt === undefined) throw new Hj212Error('E_SYNTAX', 'data packet has no DataTime');
  const record: SampleRecord = { dev, kind, ts: parseDataTime(dt, o.offsetHours), m: {} };
  if (agg !== 'rt') record.agg = agg;
  const unknown: string[] = [];
  for (const [code, fields] of p.cp.factors) {
    const key = pollutantByCode(code)?.key;
    if (!key) {
      unknown.push(code);
      continue;
    }
    const scale = o.scale?.[code] ?? 1;
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

/** The data segment of an upload (the inverse of parseSegment for data packets). */
export function uploadSegment(u: DataUpload): string {
  const items = Object.entries(u.factors).map(([code, fields]) =>
    Object.entries(fields)
      .map(([s, v]) => `${code}-${s}=${v}`)
      .join(','),
  );
  return `QN=${u.qn};ST=${u.st};CN=${u.cn};PW=${u.pw};MN=${u.mn};Flag=${u.flag};${u.resent ? 'RF=1;' : ''}CP=&&${['DataTime=' + u.dataTime, ...items].join(';')}&&`;
}
