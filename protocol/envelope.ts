// The uplink envelope (docs/protocol.md §3): encode, and a strict decoder that names what is wrong.
import { isDeviceKind, type DeviceKind } from './kinds.ts';
import { fieldBounds, implausible, parseFieldName } from './pollutants.ts';
import { ID_PATTERN } from './topics.ts';

export type DataFlag = string; // HJ 212 flags N F M S D C T B; the table is extensible, so any capital letter passes
export type Aggregation = 'rt' | 'min' | 'hour' | 'day';

export interface SampleRecord {
  dev: string;
  kind: DeviceKind;
  ts: number;
  m: Record<string, number>;
  f?: Record<string, DataFlag>;
  agg?: Aggregation;
  /**
   * Text attributes of an event record, e.g. a remote-sensing pass: `{ plate: '蒙A12345', fuel: 'diesel' }`.
   * Stored as string fields, never as tags: plates and the like are unbounded.
   */
  a?: Record<string, string>;
}

export interface Envelope {
  v: 1;
  gw: string;
  ep: string;
  seq: number;
  records: SampleRecord[];
  /** Inclusive seq ranges the gateway will never send (evicted or already acknowledged). */
  gap?: [number, number][];
}

export interface DecodeLimits {
  maxBytes: number;
  maxRecords: number;
  maxFields: number;
  /** Text attributes per record, at most, and characters per value. */
  maxAttributes: number;
  maxAttributeChars: number;
  /** How far past the receiver's clock a sample time may lie. */
  maxFutureMs: number;
  now: () => number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxBytes: 1 << 20,
  maxRecords: 5000,
  maxFields: 64,
  maxAttributes: 16,
  maxAttributeChars: 128,
  maxFutureMs: 5 * 60_000,
  now: Date.now,
};

export class EnvelopeError extends Error {
  constructor(
    readonly reason: string,
    readonly where: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'EnvelopeError';
  }
}

export function encodeEnvelope(env: Envelope): string {
  return encodeEnvelopeOf(
    env,
    env.records.map((r) => JSON.stringify(r)),
  );
}

/**
 * The envelope with its records given as JSON text: a gateway keeps each record as the text it stored
 * in its outbox, and splices it in rather than parse and re-serialise it.
 */
export function encodeEnvelopeOf(h: Omit<Envelope, 'records' | 'v'>, records: string[]): string {
  return (
    `{"v":1,"gw":${JSON.stringify(h.gw)},"ep":${JSON.stringify(h.ep)},"seq":${h.seq},"records":[${records.join(',')}]` +
    `${h.gap?.length ? `,"gap":${JSON.stringify(h.gap)}` : ''}}`
  );
}

const AGGS = new Set(['rt', 'min', 'hour', 'day']);
// One capital letter (HJ 212-2017: N F M S D C T B; the table is extensible), or HJ 212-2025's `Td`.
const FLAG = /^[A-Z][a-z]?$/;
const ATTRIBUTE = /^[a-z][a-z0-9_]{0,31}$/;
const EPOCH = /^[A-Za-z0-9_-]{1,32}$/;
// Sample times before 2000 are a gateway clock that was never set.
const MIN_TS = Date.UTC(2000, 0, 1);

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isSeq = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** An envelope whose header is valid; each record is decoded, or the error that rejected it. */
export interface DecodedBatch {
  header: Omit<Envelope, 'records'>;
  records: (SampleRecord | EnvelopeError)[];
  /** Fields left out of records that were kept (by record index): each named with its reason. */
  dropped: Map<number, readonly EnvelopeError[]>;
  /** How many readings each kept record holds (by record index; 0 for a refused record). */
  fields: Uint16Array;
}

/**
 * Decodes an envelope record by record: a bad header throws, a bad record is returned as its error,
 * so one instrument's bad value never costs the good records beside it.
 */
export function decodeBatch(payload: Buffer | string, limits: DecodeLimits = DEFAULT_LIMITS): DecodedBatch {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > limits.maxBytes)
    throw new EnvelopeError(`payload is ${size} bytes, over the ${limits.maxBytes}-byte limit`, 'envelope');
  let doc: unknown;
  try {
    doc = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (e) {
    throw new EnvelopeError(`not JSON (${(e as Error).message})`, 'envelope');
  }
  if (!isObject(doc)) throw new EnvelopeError('expected a JSON object', 'envelope');
  if (doc.v !== 1) throw new EnvelopeError(`unknown version ${JSON.stringify(doc.v)}, expected 1`, 'v');
  if (typeof doc.gw !== 'string' || !ID_PATTERN.test(doc.gw))
    throw new EnvelopeError('expected a gateway id of letters, digits, . _ - (1-64)', 'gw');
  if (typeof doc.ep !== 'string' || !EPOCH.test(doc.ep))
    throw new EnvelopeError('expected an epoch id of letters, digits, _ - (1-32)', 'ep');
  if (!isSeq(doc.seq)) throw new EnvelopeError('expected a non-negative integer', 'seq');
  if (!Array.isArray(doc.records)) throw new EnvelopeError('expected an array', 'records');
  if (doc.records.length > limits.maxRecords)
    throw new EnvelopeError(`${doc.records.length} records, over the limit of ${limits.maxRecords}`, 'records');
  if (doc.records.length === 0 && doc.gap === undefined)
    throw new EnvelopeError('empty, and no gap announced', 'records');
  if (!Number.isSafeInteger(doc.seq + doc.records.length)) throw new EnvelopeError('seq range overflows', 'seq');
  const header: DecodedBatch['header'] = { v: 1, gw: doc.gw, ep: doc.ep, seq: doc.seq };
  if (doc.gap !== undefined) header.gap = decodeGaps(doc.gap);
  const latest = limits.now() + limits.maxFutureMs;
  const dropped = new Map<number, readonly EnvelopeError[]>();
  const fields = new Uint16Array(doc.records.length);
  const records = doc.records.map((r, i) => {
    try {
      const d = decodeRecordParts(r, i, latest, limits);
      if (d.dropped.length) dropped.set(i, d.dropped);
      fields[i] = d.fields;
      return d.record;
    } catch (e) {
      if (e instanceof EnvelopeError) return e;
      throw e;
    }
  });
  return { header, records, dropped, fields };
}

/** Decodes and validates a whole envelope; throws EnvelopeError naming the first problem and where it is. */
export function decodeEnvelope(payload: Buffer | string, limits: DecodeLimits = DEFAULT_LIMITS): Envelope {
  const { header, records, dropped } = decodeBatch(payload, limits);
  const bad = records.find((r) => r instanceof EnvelopeError) ?? [...dropped.values()][0]?.[0];
  if (bad) throw bad;
  const env: Envelope = { v: 1, gw: header.gw, ep: header.ep, seq: header.seq, records: records as SampleRecord[] };
  if (header.gap) env.gap = header.gap;
  return env;
}

/**
 * Decodes one record strictly (an envelope's, or one a gateway receives from an instrument platform);
 * throws EnvelopeError naming the first problem at `at`, a bad field included.
 */
export function decodeRecord(
  r: unknown,
  at: string,
  latest: number,
  limits: DecodeLimits = DEFAULT_LIMITS,
): SampleRecord {
  const d = decodeRecordParts(r, at, latest, limits);
  if (d.dropped.length) throw d.dropped[0];
  return d.record;
}

/** A record with its good fields, and the errors of the fields left out. */
export interface PartialRecord {
  record: SampleRecord;
  dropped: readonly EnvelopeError[];
  /** How many readings the record keeps. */
  fields: number;
}

/**
 * Decodes one record, keeping its good fields: a reading with a bad name or value (not a number, not
 * finite, outside the registry's plausible range) is left out with its flag and named in `dropped`, so
 * one broken channel never costs the instrument's other readings. Throws EnvelopeError when the record
 * itself is bad, or when no field is left.
 */
export function decodeRecordParts(
  r: unknown,
  at: string | number,
  latest: number,
  limits: DecodeLimits = DEFAULT_LIMITS,
): PartialRecord {
  if (!isObject(r)) throw new EnvelopeError('expected an object', where(at));
  if (typeof r.dev !== 'string' || !ID_PATTERN.test(r.dev))
    throw new EnvelopeError('expected a device id of letters, digits, . _ - (1-64)', `${where(at)}.dev`);
  if (!isDeviceKind(r.kind))
    throw new EnvelopeError(`unknown device kind ${JSON.stringify(r.kind)}`, `${where(at)}.kind`);
  if (!Number.isSafeInteger(r.ts))
    throw new EnvelopeError('expected an integer time in epoch milliseconds', `${where(at)}.ts`);
  const ts = r.ts as number;
  if (ts < MIN_TS)
    throw new EnvelopeError(`sample time ${timeText(ts)} is before 2000: is the gateway clock set?`, `${where(at)}.ts`);
  if (ts > latest) throw new EnvelopeError(`sample time ${timeText(ts)} is in the future`, `${where(at)}.ts`);
  if (!isObject(r.m)) throw new EnvelopeError('expected an object of field: number', `${where(at)}.m`);
  const m = r.m as Record<string, number>;
  // One pass over the readings, no array of their names: this runs for every record ingest receives.
  let count = 0;
  let dropped: EnvelopeError[] | undefined;
  for (const name in m) {
    if (++count > limits.maxFields)
      throw new EnvelopeError(
        `${Object.keys(m).length} fields, over the limit of ${limits.maxFields}`,
        `${where(at)}.m`,
      );
    const why = fieldProblem(name, m[name]);
    if (why) (dropped ??= []).push(new EnvelopeError(why, `${where(at)}.m.${name}`));
  }
  if (count === 0) throw new EnvelopeError('no fields', `${where(at)}.m`);
  if (dropped?.length === count)
    throw count === 1
      ? dropped[0]!
      : new EnvelopeError(`no valid field (${dropped.map((e) => e.message).join('; ')})`, `${where(at)}.m`);
  const rec: SampleRecord = { dev: r.dev, kind: r.kind, ts, m: dropped ? withoutKeys(m, dropped, where(at)) : m };
  if (r.f !== undefined) {
    if (!isObject(r.f)) throw new EnvelopeError('expected an object of field: flag', `${where(at)}.f`);
    for (const name in r.f) {
      const flag = r.f[name];
      if (!Object.hasOwn(m, name))
        throw new EnvelopeError('flag for a field the record does not carry', `${where(at)}.f.${name}`);
      if (typeof flag !== 'string' || !FLAG.test(flag))
        throw new EnvelopeError(
          `expected a flag such as N F M S D C T B or Td, got ${JSON.stringify(flag)}`,
          `${where(at)}.f.${name}`,
        );
    }
    const f = r.f as Record<string, string>;
    // A refused reading's flag goes with it.
    rec.f = dropped ? (withoutKeys(f, dropped, where(at)) as Record<string, string>) : f;
  }
  if (r.agg !== undefined) {
    if (typeof r.agg !== 'string' || !AGGS.has(r.agg))
      throw new EnvelopeError(`expected one of rt, min, hour, day, got ${JSON.stringify(r.agg)}`, `${where(at)}.agg`);
    rec.agg = r.agg as Aggregation;
  }
  if (r.a !== undefined) rec.a = decodeAttributes(r.a, `${where(at)}.a`, limits);
  return { record: rec, dropped: dropped ?? NONE, fields: count - (dropped?.length ?? 0) };
}

const NONE: readonly EnvelopeError[] = Object.freeze([]);

/** Where a record is, for an error: given as text, or as its index in an envelope (made into text only then). */
const where = (at: string | number): string => (typeof at === 'number' ? `records[${at}]` : at);

/** Why a reading cannot be stored, or null when it can. */
function fieldProblem(name: string, v: unknown): string | null {
  const b = fieldBounds(name);
  if (!b) return 'not a registry key with an optional statistic suffix';
  if (typeof v !== 'number') return `expected a number, got ${typeof v}`;
  // JSON has no NaN or Infinity, but a huge literal such as 1e999 parses to Infinity.
  if (!Number.isFinite(v)) return 'not a finite number';
  return v >= b[0] && v <= b[1] ? null : implausible(name, v);
}

/** A copy of `o` without the fields named by `dropped` (errors at `{at}.m.{name}`). */
function withoutKeys<T>(o: Record<string, T>, dropped: readonly EnvelopeError[], at: string): Record<string, T> {
  const gone = new Set(dropped.map((e) => e.where.slice(`${at}.m.`.length)));
  const out: Record<string, T> = {};
  for (const k of Object.keys(o))
    if (!gone.has(k))
      Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
  return out;
}

/** A sample time as text for an error; an integer past the Date range (±8.64e15 ms) is shown as a number. */
function timeText(ts: number): string {
  return Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `${ts} ms`;
}

function decodeAttributes(a: unknown, at: string, limits: DecodeLimits): Record<string, string> {
  if (!isObject(a)) throw new EnvelopeError('expected an object of name: text', at);
  const names = Object.keys(a);
  if (names.length > limits.maxAttributes)
    throw new EnvelopeError(`${names.length} attributes, over the limit of ${limits.maxAttributes}`, at);
  for (const name of names) {
    const v = a[name];
    // Attributes become string fields beside the readings, so their names must not collide with them.
    if (!ATTRIBUTE.test(name))
      throw new EnvelopeError('expected a name of a-z, 0-9, _ (1-32, starting with a letter)', `${at}.${name}`);
    if (parseFieldName(name) || name === 'seq' || name.endsWith('_flag'))
      throw new EnvelopeError('names a reading, a flag or seq; pick another name', `${at}.${name}`);
    if (typeof v !== 'string') throw new EnvelopeError(`expected text, got ${typeof v}`, `${at}.${name}`);
    if (v.length === 0 || v.length > limits.maxAttributeChars)
      throw new EnvelopeError(`expected 1-${limits.maxAttributeChars} characters, got ${v.length}`, `${at}.${name}`);
  }
  return a as Record<string, string>;
}

function decodeGaps(g: unknown): [number, number][] {
  if (!Array.isArray(g) || g.length > 1000)
    throw new EnvelopeError('expected an array of at most 1000 [from, to] pairs', 'gap');
  return g.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !isSeq(pair[0]) || !isSeq(pair[1]) || pair[0] > pair[1]) {
      throw new EnvelopeError('expected [from, to] with 0 <= from <= to', `gap[${i}]`);
    }
    return [pair[0], pair[1]] as [number, number];
  });
}

/**
 * The acknowledgement on `ack/{gw}`: every record of epoch `ep` with seq <= `seq` is durably stored.
 * `t`, optional, is the acknowledging worker's clock (epoch ms), from which a gateway estimates its own
 * clock offset: a gateway whose clock runs ahead has its samples rejected as "in the future".
 */
export interface Ack {
  ep: string;
  seq: number;
  t?: number;
}

export function encodeAck(a: Ack): Buffer {
  return Buffer.from(JSON.stringify(a.t === undefined ? { ep: a.ep, seq: a.seq } : { ep: a.ep, seq: a.seq, t: a.t }));
}

/**
 * Ingest's word that it refused an envelope's header (docs/protocol.md §3.8), on `ack/{gw}`, not retained: nothing of the
 * envelope is settled, so the gateway is told why, and which seqs, when the envelope said.
 */
export interface Refusal {
  reason: string;
  ep?: string;
  from?: number;
  to?: number;
  /** The refusing worker's clock, epoch ms. */
  t: number;
}

export function encodeRefusal(r: Refusal): Buffer {
  return Buffer.from(JSON.stringify({ refused: r }));
}

/**
 * A worker that has just started reading a gateway's shard asks it to publish again, at once, whatever
 * it has not had acknowledged (docs/protocol.md §5.1): what the gateway published while the shard moved
 * went to nobody. On `ack/{gw}`, not retained. It has no top-level `ep` or `seq`, so a gateway that
 * does not know it refuses it as an acknowledgement instead of applying it.
 */
export interface ResendRequest {
  /** The epoch whose records are asked for; a gateway of another epoch ignores the request. */
  ep: string;
  /** The lowest seq the worker lacks: its watermark of the gateway plus one. */
  from: number;
  /** The asking worker's clock, epoch ms. */
  t: number;
}

/** A gateway serves at most one resend request per this long: a storm of requests must not loop its uplink. */
export const RESEND_MIN_INTERVAL_MS = 5000;

export function encodeResendRequest(r: ResendRequest): Buffer {
  return Buffer.from(JSON.stringify({ resend: { ep: r.ep, from: r.from, t: r.t } }));
}

/** What arrives on `ack/{gw}`: a watermark, a refusal (a `refused` object) or a resend request (a `resend` object). */
export function decodeAckMessage(
  payload: Buffer | string,
): { ack: Ack } | { refused: Refusal } | { resend: ResendRequest } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString());
  } catch {
    throw new EnvelopeError('not JSON', 'ack');
  }
  if (isObject(doc) && isObject(doc.resend)) {
    const r = doc.resend;
    if (typeof r.ep !== 'string' || !EPOCH.test(r.ep)) throw new EnvelopeError('expected an epoch id', 'resend.ep');
    if (!isSeq(r.from)) throw new EnvelopeError('expected a non-negative integer', 'resend.from');
    if (!Number.isSafeInteger(r.t)) throw new EnvelopeError('expected epoch ms', 'resend.t');
    return { resend: { ep: r.ep, from: r.from, t: r.t as number } };
  }
  if (!isObject(doc) || !isObject(doc.refused)) return { ack: decodeAck(payload) };
  const r = doc.refused;
  if (typeof r.reason !== 'string') throw new EnvelopeError('expected a string', 'refused.reason');
  if (!Number.isSafeInteger(r.t)) throw new EnvelopeError('expected epoch ms', 'refused.t');
  const refused: Refusal = { reason: r.reason, t: r.t as number };
  if (typeof r.ep === 'string') refused.ep = r.ep;
  if (Number.isSafeInteger(r.from) && Number.isSafeInteger(r.to)) {
    refused.from = r.from as number;
    refused.to = r.to as number;
  }
  return { refused };
}

/**
 * The epoch and seqs a refused envelope names, read without validation (it failed that): enough for the
 * gateway to know which of its envelopes it was. Nothing when the payload does not say.
 */
export function claimedRange(payload: Buffer): Pick<Refusal, 'ep' | 'from' | 'to'> {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString());
  } catch {
    return {};
  }
  if (!isObject(doc)) return {};
  const out: Pick<Refusal, 'ep' | 'from' | 'to'> = {};
  if (typeof doc.ep === 'string' && EPOCH.test(doc.ep)) out.ep = doc.ep;
  if (Number.isSafeInteger(doc.seq) && Array.isArray(doc.records) && doc.records.length > 0) {
    out.from = doc.seq as number;
    out.to = out.from + doc.records.length - 1;
  }
  return out;
}

export function decodeAck(payload: Buffer | string): Ack {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString());
  } catch {
    throw new EnvelopeError('not JSON', 'ack');
  }
  if (!isObject(doc) || typeof doc.ep !== 'string' || !EPOCH.test(doc.ep))
    throw new EnvelopeError('expected an epoch id', 'ack.ep');
  if (!Number.isSafeInteger(doc.seq) || (doc.seq as number) < -1)
    throw new EnvelopeError('expected an integer >= -1', 'ack.seq');
  const ack: Ack = { ep: doc.ep, seq: doc.seq as number };
  if (Number.isSafeInteger(doc.t)) ack.t = doc.t as number;
  return ack;
}
