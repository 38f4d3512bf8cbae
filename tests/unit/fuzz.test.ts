// Property-based fuzzing of the decoders that take bytes from outside: the envelope decoder, the HJ 212
// stream reader and segment parser, and Modbus RTU framing. Seeds are random (a failure prints the seed
// and the shrunk input to replay); runs are few enough that the file takes a few seconds.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  DEFAULT_LIMITS,
  encodeEnvelope,
  EnvelopeError,
  type DecodeLimits,
  type Envelope,
  type SampleRecord,
} from '../../protocol/envelope.ts';
import {
  encodeFrame,
  FrameReader,
  Hj212Error,
  MAX_FRAME,
  parseSegment,
  toRecord,
  uploadSegment,
  type DataUpload,
  type RawFrame,
} from '../../protocol/hj212.ts';
import { DEVICE_KINDS } from '../../protocol/kinds.ts';
import { crc16modbus, readRequestPdu, rtuFrame, tcpFrame } from '../../protocol/modbus-frame.ts';
import { FIELD_SUFFIXES, parseFieldName, POLLUTANTS } from '../../protocol/pollutants.ts';
import { RtuRequestReader } from '../../simulators/modbus-server.ts';

const RUNS = { numRuns: 200 };

/** Throws `e` again unless it is of the class a decoder is allowed to throw. */
function onlyThrows(cls: new (...a: any[]) => Error, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw e;
  }
}

// ─── Envelope (docs/protocol.md §3) ──────────────────────────────────────────────────────────────────

const NOW = Date.UTC(2026, 10, 28, 12);
const MIN_TS = Date.UTC(2000, 0, 1);
const FUTURE = 5 * 60_000;
// Small record and byte limits so that generated envelopes reach them; the per-record limits are the defaults.
const LIMITS: DecodeLimits = { ...DEFAULT_LIMITS, now: () => NOW, maxRecords: 4, maxBytes: 24 * 1024 };
const FIELDS = POLLUTANTS.flatMap((p) => [p.key, ...FIELD_SUFFIXES.map((s) => `${p.key}_${s}`)]);
const KINDS = Object.keys(DEVICE_KINDS);

type Doc = Record<string, any>;
const isObj = (x: unknown): x is Doc => typeof x === 'object' && x !== null && !Array.isArray(x);
const isSeq = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The documented rules (docs/protocol.md §3.1–3.7), written out again from the text, independent of the decoder. */
function violation(doc: unknown, text: string, limits: DecodeLimits): string | null {
  if (Buffer.byteLength(text) > limits.maxBytes) return 'envelope size';
  if (!isObj(doc)) return 'not an object';
  if (doc.v !== 1) return 'v';
  if (typeof doc.gw !== 'string' || !ID.test(doc.gw)) return 'gw';
  if (typeof doc.ep !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(doc.ep)) return 'ep';
  if (!Array.isArray(doc.records)) return 'records';
  if (!isSeq(doc.seq) || !Number.isSafeInteger(doc.seq + doc.records.length)) return 'seq';
  if (doc.records.length > limits.maxRecords) return 'records per envelope';
  if (doc.records.length === 0 && doc.gap === undefined) return 'records: empty without gap';
  if (doc.gap !== undefined && !gapsOk(doc.gap)) return 'gap';
  for (const r of doc.records) {
    const bad = recordViolation(r, limits);
    if (bad) return bad;
  }
  return null;
}

const gapsOk = (g: unknown) =>
  Array.isArray(g) &&
  g.length <= 1000 &&
  g.every((p) => Array.isArray(p) && p.length === 2 && isSeq(p[0]) && isSeq(p[1]) && p[0] <= p[1]);

function recordViolation(r: unknown, limits: DecodeLimits): string | null {
  if (!isObj(r)) return 'record';
  if (typeof r.dev !== 'string' || !ID.test(r.dev)) return 'dev';
  if (!KINDS.includes(r.kind)) return 'kind';
  if (!Number.isSafeInteger(r.ts) || r.ts < MIN_TS || r.ts > NOW + limits.maxFutureMs) return 'ts';
  if (!isObj(r.m)) return 'm';
  const names = Object.keys(r.m);
  if (names.length < 1 || names.length > limits.maxFields) return 'fields per record';
  if (names.some((n) => !FIELDS.includes(n) || typeof r.m[n] !== 'number' || !Number.isFinite(r.m[n]))) return 'm';
  if (names.some((n) => !plausible(n, r.m[n]))) return 'm: implausible';
  if (
    r.f !== undefined &&
    !(isObj(r.f) && Object.entries(r.f).every(([n, f]) => names.includes(n) && /^[A-Z][a-z]?$/.test(f)))
  )
    return 'f';
  if (r.agg !== undefined && !['rt', 'min', 'hour', 'day'].includes(r.agg)) return 'agg';
  if (r.a === undefined) return null;
  if (!isObj(r.a) || Object.keys(r.a).length > limits.maxAttributes) return 'attributes per record';
  for (const [n, v] of Object.entries(r.a)) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(n) || FIELDS.includes(n) || n === 'seq' || n.endsWith('_flag')) return 'a name';
    if (typeof v !== 'string' || v.length < 1 || v.length > limits.maxAttributeChars) return 'a value';
  }
  return null;
}

/**
 * docs/protocol.md §4's plausible ranges, from the registry's table; a range from 0 reaches 1 % of its top below zero (an
 * analyser's zero drift); a cumulative (`_cou`) value only must not be negative.
 */
function plausible(name: string, v: number): boolean {
  const [key, suffix] = FIELDS.includes(name) && !POLLUTANTS.some((p) => p.key === name) ? splitField(name) : [name];
  if (suffix === 'cou') return v >= 0;
  const [lo, hi] = POLLUTANTS.find((p) => p.key === key)!.range;
  return v >= (lo === 0 ? -hi / 100 : lo) && v <= hi;
}
function intoRange(name: string, frac: number): number {
  const [key, suffix] = POLLUTANTS.some((p) => p.key === name) ? [name] : splitField(name);
  const [lo, hi] = suffix === 'cou' ? [0, 100] : POLLUTANTS.find((p) => p.key === key)!.range;
  const v = lo + frac * Math.min(hi - lo, 100);
  return Object.is(v, -0) ? 0 : v;
}
const splitField = (n: string): [string, string] => [n.slice(0, n.lastIndexOf('_')), n.slice(n.lastIndexOf('_') + 1)];
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
/** A finite number, often inside every field's range (0…14), sometimes anything. */
const reading = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: 0, max: 14, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)) },
  { weight: 1, arbitrary: finite },
);
const idOk = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const fieldOk = fc.constantFrom(...FIELDS);
// Built once: an arbitrary made inside `chain` is rebuilt for every value, regex and all.
const flagOk = fc.stringMatching(/^[A-Z][a-z]?$/);
const ATTRS = Array.from({ length: 20 }, (_, i) => `attr${i}`);
const attrNameOk = fc.oneof(
  fc.constantFrom(...ATTRS, 'plate', 'fuel', 'x'.repeat(32)),
  fc.stringMatching(/^q[a-z0-9_]{0,8}$/),
);
const dict = <T>(k: fc.Arbitrary<string>, v: fc.Arbitrary<T>, maxKeys: number, minKeys = 0) =>
  fc.dictionary(k, v, { minKeys, maxKeys, noNullPrototype: true });
/** Sets a key as an own property, even `__proto__`, as JSON.parse would. */
const put = (o: Doc, k: string, v: unknown): void =>
  void Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
/** r[k] as an object to add to: a fresh one when it is missing or not an object. */
const own = (r: Doc, k: string): Doc => (isObj(r[k]) ? r[k] : (r[k] = {}));
/** Names Object.prototype has: the decoder takes a flag for them as a field's (a known defect, below). */
const notInherited = (k: string) => !(k in {});

const validRecord: fc.Arbitrary<SampleRecord> = fc
  .record(
    {
      dev: idOk,
      kind: fc.constantFrom(...(KINDS as SampleRecord['kind'][])),
      ts: fc.integer({ min: MIN_TS, max: NOW + FUTURE }),
      // A fraction of the way into each field's plausible range (at most 100 units of it).
      m: dict(fieldOk, fc.double({ min: 0, max: 1, noNaN: true }), 8, 1).map((m) => {
        for (const k in m) m[k] = intoRange(k, m[k]!);
        return m;
      }),
      agg: fc.constantFrom('rt' as const, 'min' as const, 'hour' as const, 'day' as const),
      a: dict(attrNameOk, fc.string({ minLength: 1, maxLength: 128 }), 4),
    },
    { requiredKeys: ['dev', 'kind', 'ts', 'm'] },
  )
  .chain((r) =>
    // Flags only for fields the record carries.
    fc
      .subarray(Object.keys(r.m))
      .chain((flagged) =>
        fc
          .array(flagOk, { minLength: flagged.length, maxLength: flagged.length })
          .map((flags) =>
            flagged.length ? { ...r, f: Object.fromEntries(flagged.map((n, i) => [n, flags[i]!])) } : r,
          ),
      ),
  );

const validEnvelope: fc.Arbitrary<Envelope> = fc
  .record({
    gw: idOk,
    ep: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/),
    seq: fc.nat(),
    records: fc.array(validRecord, { minLength: 1, maxLength: 4 }),
    gap: fc.option(
      fc.array(
        fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
        { minLength: 1, maxLength: 3 },
      ),
      { nil: undefined },
    ),
  })
  .map(({ gap, ...h }) => ({ v: 1 as const, ...h, ...(gap ? { gap } : {}) }));

const junk = fc.jsonValue({ maxDepth: 2 });
/** 0, 1, … n - 1. */
const many = (n: number) => Array.from({ length: n }, (_, i) => i);
/** Stands for a number literal JSON.stringify cannot write: 1e999, which parses to Infinity. */
const HUGE = 'huge-1e999';
/** Mostly values at or just past a limit, sometimes anything else. */
const edge = <T>(values: T[], other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: other });
/** A change that sets key `k` of a record or envelope. */
const setTo = (k: string, v: fc.Arbitrary<unknown>) => v.map((x) => (o: Doc) => void (o[k] = x));
/** A change that adds one entry to the object at key `k` (m, f, a). */
const addTo = (k: string, name: fc.Arbitrary<string>, v: fc.Arbitrary<unknown>) =>
  fc.tuple(name, v).map(
    ([n, x]) =>
      (o: Doc) =>
        put(own(o, k), n, x),
  );

/** One change to a valid record, mostly to a documented limit or just past it. */
const recordChange: fc.Arbitrary<(r: Doc) => void> = fc.oneof(
  setTo('dev', edge(['a'.repeat(64), 'a'.repeat(65), '.a', ''], fc.string({ maxLength: 70 }))),
  setTo('kind', edge(['city', 'air', 'toString'], fc.oneof(fc.string(), junk))),
  // Past the Date range (|ts| > 8.64e15) is the known defect below.
  setTo(
    'ts',
    edge(
      [MIN_TS - 1, MIN_TS, NOW + FUTURE, NOW + FUTURE + 1, NOW + 0.5, -1],
      fc.oneof(fc.double({ min: -8.64e15, max: 8.64e15 }), fc.string()),
    ),
  ),
  edge([0, 1, 63, 64, 65], fc.integer({ min: 0, max: 66 })).map((n) => (r: Doc) => {
    r.m = Object.fromEntries(many(n).map((i) => [FIELDS[i]!, i]));
    delete r.f;
  }),
  addTo(
    'm',
    edge(['pm2_5', 'PM25', 'so2_mean', '__proto__'], fc.oneof(fieldOk, fc.string({ maxLength: 12 }))),
    fc.oneof(reading, junk, fc.constant(HUGE)),
  ),
  addTo('f', fc.oneof(fieldOk, fc.string()).filter(notInherited), edge(['N', 'D', 'Td', 'TD', 'd', '', 'DD'], junk)),
  setTo('agg', edge(['rt', 'min', 'hour', 'day', 'week', ''], junk)),
  fc
    .integer({ min: 15, max: 17 })
    .map((n) => (r: Doc) => void (r.a = Object.fromEntries(many(n).map((i) => [ATTRS[i]!, 'v'])))),
  addTo(
    'a',
    edge(
      ['seq', 'so2', 'pm25_flag', 'x_flag', 'Plate', '', 'x'.repeat(33), '__proto__'],
      fc.oneof(attrNameOk, fc.string()),
    ),
    fc.constant('v'),
  ),
  addTo('a', attrNameOk, edge(['', 'v', 'x'.repeat(128), 'x'.repeat(129), '蒙'.repeat(128)], junk)),
  setTo('f', junk),
  setTo('a', junk),
  fc.constantFrom('dev', 'kind', 'ts', 'm').map((k) => (r: Doc) => void delete r[k]),
);

/** One change to a valid envelope, mostly to a documented limit or just past it; most go to a record. */
const envelopeChange: fc.Arbitrary<(e: Doc) => void> = fc.oneof(
  setTo('v', edge([2, '1', null], junk)),
  setTo('gw', edge(['x'.repeat(64), 'x'.repeat(65), '', '-a'], fc.string({ maxLength: 70 }))),
  setTo('ep', edge(['x'.repeat(32), 'x'.repeat(33), ''], fc.string({ maxLength: 40 }))),
  setTo('seq', edge([-1, 0.5, '1', ...[0, 1, 2, 3, 4, 5].map((k) => Number.MAX_SAFE_INTEGER - k)], junk)),
  fc.integer({ min: 0, max: 6 }).map((n) => (e: Doc) => {
    e.records = Array.from({ length: n }, (_, i) => e.records[i % e.records.length]);
  }),
  setTo(
    'gap',
    edge(
      [
        [[2, 1]],
        [[1, 0]],
        [[0, -1]],
        [[0.5, 1]],
        [[1]],
        [],
        ...[999, 1000, 1001].map((n) => many(n).map((k) => [k, k])),
      ],
      junk,
    ),
  ),
  fc.constant((e: Doc) => void delete e.gap),
  // The size limit: padded by an ignored key to a byte either side of it.
  fc.integer({ min: -2, max: 2 }).map((d) => (e: Doc) => {
    e.pad = '';
    e.pad = 'p'.repeat(Math.max(0, LIMITS.maxBytes + d - Buffer.byteLength(JSON.stringify(e))));
  }),
  {
    weight: 12,
    arbitrary: fc.tuple(fc.nat(), recordChange).map(([i, change]) => (e: Doc) => {
      const r = e.records[i % e.records.length];
      if (isObj(r)) change(r); // an earlier change may have left no record, or junk
    }),
  },
  fc.tuple(fc.nat(), junk).map(([i, v]) => (e: Doc) => {
    e.records[i % e.records.length] = v;
  }),
);

/** A valid envelope with one or two changes, as JSON text. */
const changedEnvelope = fc
  .tuple(validEnvelope, fc.array(envelopeChange, { minLength: 1, maxLength: 2 }))
  .map(([env, changes]) => {
    const doc: Doc = structuredClone(env);
    for (const c of changes) c(doc);
    return JSON.stringify(doc).replaceAll(`"${HUGE}"`, '1e999');
  });

/** A few edits of JSON text: characters replaced, deleted or inserted, biased to JSON's own. */
const edits = fc.array(
  fc.tuple(
    fc.constantFrom('replace', 'delete', 'insert'),
    fc.nat(),
    fc.constantFrom(...'{}[]",:0-9eE.+truenl\\ \u0000é'.split('')),
  ),
  { minLength: 1, maxLength: 4 },
);
function edit(text: string, es: [string, number, string][]): string {
  let t = text;
  for (const [op, at, c] of es) {
    const i = at % (t.length + 1);
    t = t.slice(0, i) + (op === 'delete' ? '' : c) + t.slice(op === 'insert' ? i : i + 1);
  }
  return t;
}

/** Decodes `text`: an envelope that keeps every documented limit, or an EnvelopeError; nothing else. */
function decodesWithinLimits(text: string | Buffer): void {
  let env: Envelope;
  try {
    env = decodeEnvelope(text, LIMITS);
  } catch (e) {
    if (e instanceof EnvelopeError) return;
    throw e;
  }
  expect(violation(env, text.toString(), LIMITS)).toBeNull();
}

/** The decoder and the documented rules agree on `text`: accepted exactly when no rule is broken. */
function agreesWithRules(text: string): void {
  const broken = violation(JSON.parse(text), text, LIMITS);
  let why = 'accepted';
  try {
    decodeEnvelope(text, LIMITS);
  } catch (e) {
    if (!(e instanceof EnvelopeError)) throw e;
    why = e.message;
  }
  expect(why === 'accepted', `rules: ${broken ?? 'none broken'}; decoder: ${why}`).toBe(broken === null);
}

describe('fuzz: envelope decoder', () => {
  it('any bytes: an EnvelopeError or nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => decodesWithinLimits(Buffer.from(b))),
      RUNS,
    );
  });

  it('any JSON value: an EnvelopeError or nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => decodesWithinLimits(JSON.stringify(v) ?? 'null')),
      RUNS,
    );
  });

  it('valid envelopes changed at or past a limit: accepted exactly when the documented rules are kept', () => {
    fc.assert(fc.property(changedEnvelope, agreesWithRules), { numRuns: 1500 });
  });

  it('what keeps the documented limits is accepted, and what encodeEnvelope writes decodes to itself', () => {
    fc.assert(
      fc.property(validEnvelope, (env) => {
        const text = encodeEnvelope(env);
        expect(violation(env, text, LIMITS)).toBeNull();
        expect(decodeEnvelope(text, LIMITS)).toEqual(env);
      }),
      RUNS,
    );
  });

  it('edited envelope text: an EnvelopeError or an envelope within the limits', () => {
    fc.assert(
      fc.property(validEnvelope, edits, (env, es) => decodesWithinLimits(edit(encodeEnvelope(env), es))),
      RUNS,
    );
  });

  // A safe-integer ts outside the Date range (|ts| > 8.64e15) once reached `new Date(ts).toISOString()`
  // while the error was built: a RangeError made ingest dead-letter the whole envelope as a header problem.
  it('a ts beyond the Date range is an EnvelopeError', () => {
    const rec = { dev: 'aq-1', kind: 'air.micro', ts: 9e15, m: { pm25: 1 } };
    expect(() => decodeEnvelope(JSON.stringify({ v: 1, gw: 'g', ep: 'e', seq: 0, records: [rec] }), LIMITS)).toThrow(
      EnvelopeError,
    );
  });

  // A flag was once checked with `name in r.m`, which also finds Object.prototype's names: a flag for
  // `toString` was accepted and ingest wrote a `toString_flag` field.
  it('a flag for a name the record does not carry, even an inherited one, is refused', () => {
    const rec = { dev: 'aq-1', kind: 'air.micro', ts: NOW, m: { pm25: 1 }, f: { toString: 'D' } };
    expect(() => decodeEnvelope(JSON.stringify({ v: 1, gw: 'g', ep: 'e', seq: 0, records: [rec] }), LIMITS)).toThrow(
      EnvelopeError,
    );
  });
});

// ─── HJ 212 stream reader and segment parser (docs/standards/hj212.md §1–2) ─────────────────────────

const CRLF = '\r\n';
const PACKETS = [
  '##0339QN=20240115103000123;ST=22;CN=2011;PW=123456;MN=150100A0000001000000A001;Flag=5;CP=&&DataTime=20240115103000;a34004-Rtd=56,a34004-Flag=N;a34002-Rtd=98,a34002-Flag=N;a21026-Rtd=12,a21026-Flag=N;a21004-Rtd=35,a21004-Flag=N;a21005-Rtd=0.8,a21005-Flag=N;a05024-Rtd=62,a05024-Flag=N;a01001-Rtd=-8.5,a01001-Flag=N;a01002-Rtd=41.2,a01002-Flag=N&&EC81',
  '##0561QN=20240115090000789;ST=32;CN=2061;PW=123456;MN=150100D0000001000000C001;Flag=5;CP=&&DataTime=20240115080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=2.526,w01018-Min=38.2,w01018-Avg=40.1,w01018-Max=43.6,w01018-Flag=N;w21003-Cou=0.117,w21003-Min=1.62,w21003-Avg=1.85,w21003-Max=2.07,w21003-Flag=N;w21011-Cou=0.020,w21011-Min=0.28,w21011-Avg=0.32,w21011-Max=0.37,w21011-Flag=N;w21001-Cou=0.605,w21001-Min=8.9,w21001-Avg=9.6,w21001-Max=10.4,w21001-Flag=N&&F9C1',
  '##0344QN=20240115103015001;ST=31;CN=2011;PW=123456;MN=150100C0000001000000B001;Flag=5;CP=&&DataTime=20240115103015;a34013-Rtd=4.5,a34013-ZsRtd=5.00,a34013-Flag=N;a21026-Rtd=27.0,a21026-ZsRtd=30.00,a21026-Flag=N;a21002-Rtd=45.0,a21002-ZsRtd=50.00,a21002-Flag=N;a19001-Rtd=7.5,a19001-Flag=N;a01012-Rtd=52.1,a01012-Flag=N;a01011-Rtd=12.3,a01011-Flag=N&&8201',
];
type Vector = { id: string; frame: string; valid: boolean };
const VECTORS = JSON.parse(
  readFileSync(new URL('../fixtures/hj212-vectors.json', import.meta.url), 'utf8'),
) as Vector[];
/** Whole frames as a logger sends them: the reference packets and the valid public frames. */
const REAL = [...PACKETS, ...VECTORS.filter((v) => v.valid).map((v) => v.frame)].map((f) => Buffer.from(f + CRLF));
const realFrame = fc.constantFrom(...REAL);

/** Pushes `stream` cut at `cuts`; checks the held bytes after every push; returns everything reported. */
function readCut(stream: Buffer, cuts: number[]): { pushed: (RawFrame | Hj212Error)[][]; end: Hj212Error | null } {
  const r = new FrameReader();
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const pushed = [...at, stream.length].map((to, i) => {
    const out = r.push(stream.subarray(i ? at[i - 1]! : 0, to));
    expect(r.pending).toBeLessThanOrEqual(MAX_FRAME - 1);
    return out;
  });
  return { pushed, end: r.end() };
}
const frameText = (x: RawFrame) => `${x.segment.toString('latin1')}|${x.crc}`;
const framesOf = (xs: (RawFrame | Hj212Error)[]) => xs.filter((x): x is RawFrame => !(x instanceof Hj212Error));
const rawOf = (f: Buffer): RawFrame => ({
  segment: f.subarray(6, -6),
  crc: f.toString('latin1', f.length - 6, f.length - 2),
});

/** Is `want` a subsequence of `got`? */
function inOrder(got: string[], want: string[]): boolean {
  let i = 0;
  for (const g of got) if (i < want.length && g === want[i]) i++;
  return i === want.length;
}

/** Garbage of the kinds that hurt: random bytes, `#` runs and bogus headers, and real frames broken. */
const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc
    .array(fc.constantFrom('#', '##', '##9', '##0', '0339', '1024', '\r\n', 'EC81', 'x', '&&'), { maxLength: 40 })
    .map((xs) => Buffer.from(xs.join(''))),
  fc
    .tuple(fc.integer({ min: 0, max: 9999 }), fc.uint8Array({ maxLength: 60 }))
    .map(([n, b]) => Buffer.concat([Buffer.from(`##${String(n).padStart(4, '0')}`), b])),
  fc.tuple(realFrame, fc.nat()).map(([f, n]) => f.subarray(0, n % f.length)), // a frame cut short
  fc.tuple(realFrame, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, n, b]) => {
    const g = Buffer.from(f);
    g[n % g.length] = b; // one byte changed
    return g;
  }),
  fc.tuple(realFrame, fc.integer({ min: 0, max: 9999 })).map(
    ([f, n]) => Buffer.concat([Buffer.from(`##${String(n).padStart(4, '0')}`), f.subarray(6)]), // a wrong length field
  ),
);

describe('fuzz: HJ 212 stream reader', () => {
  it('any split of a stream of frames yields the same frames, and nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(realFrame, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (fs, cuts) => {
          const { pushed, end } = readCut(Buffer.concat(fs), cuts);
          expect(pushed.flat().map((x) => (x instanceof Hj212Error ? x.code : frameText(x)))).toEqual(
            fs.map((f) => frameText(rawOf(f))),
          );
          expect(end).toBeNull();
        },
      ),
      RUNS,
    );
  });

  it('frames behind any garbage are all recovered, in order, each run of garbage reported once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(garbage, realFrame), { minLength: 1, maxLength: 6 }),
        garbage,
        fc.array(fc.nat(), { maxLength: 10 }),
        (pairs, tail, cuts) => {
          const { pushed } = readCut(Buffer.concat([...pairs.flat(), tail]), cuts);
          const all = pushed.flat();
          const got = framesOf(all).map(frameText);
          expect(
            inOrder(
              got,
              pairs.map(([, f]) => frameText(rawOf(f))),
            ),
          ).toBe(true);
          // Between two frames, at most one report.
          all.forEach((x, i) => {
            if (i && x instanceof Hj212Error) expect(all[i - 1]).not.toBeInstanceOf(Hj212Error);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any bytes in any chunks: no crash, and never more held than an incomplete frame', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)),
            garbage,
          ),
          { maxLength: 6 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (parts, cuts) => {
          const { pushed, end } = readCut(Buffer.concat(parts), cuts);
          for (const f of framesOf(pushed.flat())) expect(f.segment.length).toBeLessThanOrEqual(MAX_FRAME - 12);
          expect(end === null || end.code === 'E_TRUNCATED').toBe(true);
        },
      ),
      RUNS,
    );
  });
});

const SEG_CHARS = 'QNSTCPWMFlagRF=;,&-0123456789aAzZ\u0000#é'.split('');
/** A real segment with a few characters replaced, deleted or inserted. */
const mutatedSegment = fc
  .tuple(
    realFrame,
    fc.array(fc.tuple(fc.constantFrom('replace', 'delete', 'insert'), fc.nat(), fc.constantFrom(...SEG_CHARS)), {
      maxLength: 5,
    }),
  )
  .map(([f, es]) => edit(rawOf(f).segment.toString('utf8'), es));

const token = (re: RegExp) => fc.stringMatching(re);
const upload: fc.Arbitrary<DataUpload> = fc.record({
  qn: token(/^\d{17}$/),
  st: token(/^[0-9A-Za-z]{2}$/),
  cn: token(/^\d{4}$/),
  pw: token(/^[0-9A-Za-z]{0,8}$/),
  mn: token(/^[0-9A-Za-z]{1,24}$/),
  flag: fc.integer({ min: 0, max: 255 }),
  dataTime: token(/^\d{14}$/),
  factors: dict(
    token(/^[a-z0-9]{1,7}$/),
    dict(token(/^[A-Z][a-zA-Z]{0,5}$/), fc.oneof(finite, token(/^[0-9A-Za-z.]{0,8}$/)), 4, 1),
    5,
  ),
});

describe('fuzz: HJ 212 segment parser', () => {
  it('any text, and real segments edited: an Hj212Error or a packet; a packet gives a record of registry fields', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), mutatedSegment), (seg) =>
        onlyThrows(Hj212Error, () => {
          const { record } = toRecord(parseSegment(seg), 'dev-1', 'stack.cems');
          for (const [name, v] of Object.entries(record.m)) {
            expect(parseFieldName(name), name).not.toBeNull();
            expect(Number.isFinite(v)).toBe(true);
          }
          for (const name of Object.keys(record.f ?? {})) expect(record.m).toHaveProperty([name]);
        }),
      ),
      { numRuns: 400 },
    );
  });

  it('parses back what uploadSegment writes, framed and read from a stream', () => {
    fc.assert(
      fc.property(upload, (u) => {
        fc.pre(Buffer.byteLength(uploadSegment(u)) <= 1024);
        const [raw] = framesOf(new FrameReader().push(encodeFrame(uploadSegment(u))));
        const p = parseSegment(raw!.segment.toString('utf8'));
        expect(p).toMatchObject({ qn: u.qn, st: u.st, cn: u.cn, pw: u.pw, mn: u.mn, flag: u.flag });
        expect(p.cp.fields.DataTime).toBe(u.dataTime);
        for (const [code, fields] of Object.entries(u.factors))
          expect(p.cp.factors.get(code)).toEqual(
            Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])),
          );
      }),
      RUNS,
    );
  });
});

// ─── Modbus RTU and TCP framing (protocol/modbus-frame.ts, docs/standards/modbus.md §1) ──────────────

const rtuCrcOk = (f: Uint8Array) =>
  f.length >= 4 && crc16modbus(f.subarray(0, f.length - 2)) === (f[f.length - 2]! | (f[f.length - 1]! << 8));
const rtu = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 252 }))
  .map(([unit, pdu]) => rtuFrame(unit, pdu));
const request = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(3, 4),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 1, max: 125 }),
  )
  .map(([unit, fcode, addr, n]) => rtuFrame(unit, readRequestPdu(fcode, addr, n)));

/**
 * Flips a burst of 1–16 bits (first and last set) starting at bit `at` of the frame, bits counted in
 * the order they go on the line: a serial port sends each byte least significant bit first, and the
 * Modbus CRC (reflected) catches every burst of up to 16 bits in that order, not in another.
 */
function burst(f: Buffer, at: number, pattern: number, len: number): Buffer {
  const g = Buffer.from(f);
  const start = at % (g.length * 8 - len + 1);
  for (let k = 0; k < len; k++) {
    const bit = k === 0 || k === len - 1 ? 1 : (pattern >> k) & 1;
    if (bit) g[(start + k) >> 3]! ^= 1 << ((start + k) & 7);
  }
  return g;
}

describe('fuzz: Modbus frames', () => {
  it('every RTU frame it builds checks, and any burst error of up to 16 bits fails the CRC', () => {
    fc.assert(
      fc.property(rtu, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 16 }), (f, at, pattern, len) => {
        expect(rtuCrcOk(f)).toBe(true);
        expect(crc16modbus(f)).toBe(0); // the CRC appended low byte first leaves a zero register
        expect(rtuCrcOk(burst(f, at, pattern, len))).toBe(false);
      }),
      RUNS,
    );
  });

  it('the RTU request reader yields exactly the requests of a clean stream, however it is split', () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (reqs, cuts) => {
          const stream = Buffer.concat(reqs);
          const r = new RtuRequestReader();
          const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const got = [...at, stream.length].flatMap((to, i) => r.push(stream.subarray(i ? at[i - 1]! : 0, to)));
          expect(got.map((q) => rtuFrame(q.unit, q.pdu))).toEqual(reqs);
          expect(r.skipped).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('the RTU request reader never yields a request whose CRC did not match, whatever it is fed', () => {
    const piece = fc.oneof(
      request,
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
      fc.tuple(request, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 16 })).map(([f, a, p, l]) => burst(f, a, p, l)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const stream = Buffer.concat(parts);
        const got = new RtuRequestReader().push(stream);
        for (const q of got) {
          const f = rtuFrame(q.unit, q.pdu);
          expect(rtuCrcOk(f)).toBe(true);
          expect(stream.includes(f)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('a Modbus TCP frame declares the length of what follows its length field', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 1, maxLength: 253 }),
        (tx, unit, pdu) => {
          const f = tcpFrame(tx, unit, pdu);
          expect(f.readUInt16BE(4)).toBe(f.length - 6);
          expect(f.readUInt16BE(0)).toBe(tx);
          expect(f.subarray(7)).toEqual(Buffer.from(pdu));
        },
      ),
      RUNS,
    );
  });
});
