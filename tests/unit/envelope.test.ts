import { describe, expect, it } from 'vitest';
import {
  decodeAck,
  decodeAckMessage,
  decodeBatch,
  decodeEnvelope,
  encodeAck,
  encodeRefusal,
  encodeResendRequest,
  DEFAULT_LIMITS,
  encodeEnvelope,
  EnvelopeError,
  type Envelope,
} from '../../protocol/envelope.ts';

const NOW = Date.UTC(2026, 10, 28, 12);
const limits = { ...DEFAULT_LIMITS, now: () => NOW };
const good = (): Envelope => ({
  v: 1,
  gw: 'gw-saihan-01',
  ep: 'k3f9q2',
  seq: 1042,
  records: [
    {
      dev: 'aq-0007',
      kind: 'air.micro',
      ts: NOW - 1000,
      m: { pm25: 56, pm10: 98, so2: 12, no2: 35, co: 0.8, o3: 62, temp: -8.5, rh: 41.2 },
      f: { pm10: 'D' },
    },
  ],
});

function reason(mutate: (e: any) => void, raw?: string): EnvelopeError {
  const e: any = good();
  mutate(e);
  try {
    decodeEnvelope(raw ?? JSON.stringify(e), limits);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    return err as EnvelopeError;
  }
  throw new Error('decoded without complaint');
}

describe('envelope', () => {
  it('round-trips the docs/protocol.md §3.9 example', () => {
    const env = good();
    expect(decodeEnvelope(encodeEnvelope(env), limits)).toEqual(env);
  });

  it('accepts statistic suffixes, aggregation and gap announcements', () => {
    const env = good();
    env.records[0]!.m = { so2_zsavg: 20, so2_max: 30, so2_cou: 1.2 };
    env.records[0]!.agg = 'hour';
    delete env.records[0]!.f;
    env.gap = [[0, 1041]];
    expect(decodeEnvelope(encodeEnvelope(env), limits)).toEqual(env);
  });

  it('carries text attributes of an event record (a remote-sensing pass)', () => {
    const env = good();
    env.records[0] = {
      dev: 'rsd-01',
      kind: 'rsd',
      ts: NOW - 1000,
      m: { no_ppm: 1650, opacity: 12, ringelmann: 1, speed: 38 },
      a: { plate: '蒙A·D1234', plate_color: 'yellow', fuel: 'diesel' },
    };
    expect(decodeEnvelope(encodeEnvelope(env), limits)).toEqual(env);
  });

  const cases: [string, (e: any) => void, RegExp, string?][] = [
    ['not JSON', () => {}, /not JSON/, '{"v":1,'],
    [
      'unknown version',
      (e) => {
        e.v = 2;
      },
      /^v: unknown version 2/,
    ],
    [
      'missing gw',
      (e) => {
        delete e.gw;
      },
      /^gw: /,
    ],
    [
      'gw with a topic separator',
      (e) => {
        e.gw = 'a/b';
      },
      /^gw: /,
    ],
    [
      'seq of the wrong type',
      (e) => {
        e.seq = '12';
      },
      /^seq: expected a non-negative integer/,
    ],
    [
      'negative seq',
      (e) => {
        e.seq = -1;
      },
      /^seq: /,
    ],
    [
      'records missing',
      (e) => {
        delete e.records;
      },
      /^records: expected an array/,
    ],
    [
      'empty records without gap',
      (e) => {
        e.records = [];
      },
      /^records: empty/,
    ],
    [
      'missing dev',
      (e) => {
        delete e.records[0].dev;
      },
      /^records\[0\]\.dev: /,
    ],
    [
      'unknown kind',
      (e) => {
        e.records[0].kind = 'air.mega';
      },
      /^records\[0\]\.kind: unknown device kind "air.mega"/,
    ],
    [
      'ts as a string',
      (e) => {
        e.records[0].ts = '2026-01-01';
      },
      /^records\[0\]\.ts: expected an integer/,
    ],
    [
      'ts in the future',
      (e) => {
        e.records[0].ts = NOW + 3_600_000;
      },
      /^records\[0\]\.ts: .* is in the future/,
    ],
    [
      'ts of an unset clock',
      (e) => {
        e.records[0].ts = 1000;
      },
      /before 2000/,
    ],
    [
      'value as a string',
      (e) => {
        e.records[0].m.pm25 = '56';
      },
      /^records\[0\]\.m\.pm25: expected a number, got string/,
    ],
    [
      'value null',
      (e) => {
        e.records[0].m.pm25 = null;
      },
      /^records\[0\]\.m\.pm25: expected a number, got object/,
    ],
    [
      'unknown field',
      (e) => {
        e.records[0].m.pm2_5 = 1;
      },
      /^records\[0\]\.m\.pm2_5: not a registry key/,
    ],
    [
      'no fields',
      (e) => {
        e.records[0].m = {};
        delete e.records[0].f;
      },
      /^records\[0\]\.m: no fields/,
    ],
    [
      'bad flag',
      (e) => {
        e.records[0].f.pm10 = 'bad';
      },
      /^records\[0\]\.f\.pm10: expected a flag such as N F M S D C T B or Td, got "bad"/,
    ],
    [
      'flag for a missing field',
      (e) => {
        e.records[0].f.nox = 'D';
      },
      /^records\[0\]\.f\.nox: flag for a field/,
    ],
    [
      'bad agg',
      (e) => {
        e.records[0].agg = 'week';
      },
      /^records\[0\]\.agg: /,
    ],
    [
      'bad gap',
      (e) => {
        e.gap = [[5, 2]];
      },
      /^gap\[0\]: /,
    ],
    [
      'attributes as a list',
      (e) => {
        e.records[0].a = ['x'];
      },
      /^records\[0\]\.a: expected an object of name: text/,
    ],
    [
      'an attribute that is a number',
      (e) => {
        e.records[0].a = { plate: 12 };
      },
      /^records\[0\]\.a\.plate: expected text, got number/,
    ],
    [
      'an empty attribute',
      (e) => {
        e.records[0].a = { plate: '' };
      },
      /^records\[0\]\.a\.plate: expected 1-128 characters, got 0/,
    ],
    [
      'an attribute named like a reading',
      (e) => {
        e.records[0].a = { pm25: 'x' };
      },
      /^records\[0\]\.a\.pm25: names a reading/,
    ],
    [
      'an attribute named seq',
      (e) => {
        e.records[0].a = { seq: 'x' };
      },
      /^records\[0\]\.a\.seq: names a reading, a flag or seq/,
    ],
    [
      'an attribute with a capital',
      (e) => {
        e.records[0].a = { Plate: 'x' };
      },
      /^records\[0\]\.a\.Plate: expected a name of a-z/,
    ],
    [
      'too many attributes',
      (e) => {
        e.records[0].a = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      },
      /^records\[0\]\.a: 17 attributes, over the limit of 16/,
    ],
  ];
  for (const [name, mutate, re, raw] of cases) {
    it(`rejects ${name}`, () => expect(reason(mutate, raw).message).toMatch(re));
  }

  it('rejects non-finite numbers (1e999 parses to Infinity)', () => {
    const raw = JSON.stringify(good()).replace('"pm25":56', '"pm25":1e999');
    expect(reason(() => {}, raw).message).toMatch(/^records\[0\]\.m\.pm25: not a finite number/);
    expect(reason(() => {}, JSON.stringify(good()).replace('"pm25":56', '"pm25":-1e999')).message).toMatch(/finite/);
  });

  it('refuses an implausible reading as its own field error, and keeps the record without it', () => {
    const raw = JSON.stringify(good()).replace('"pm25":56', '"pm25":1e308').replace('"pm10":98', '"pm10":-300');
    expect(reason(() => {}, raw).message).toBe(
      'records[0].m.pm25: 1e+308 is outside the plausible range -50…5000 µg/m³',
    );
    const { records, dropped } = decodeBatch(raw, limits);
    expect(records[0]).toEqual({
      ...good().records[0],
      m: { so2: 12, no2: 35, co: 0.8, o3: 62, temp: -8.5, rh: 41.2 },
      f: {}, // pm10's flag went with pm10
    });
    expect(dropped.get(0)!.map((e) => e.message)).toEqual([
      'records[0].m.pm25: 1e+308 is outside the plausible range -50…5000 µg/m³',
      'records[0].m.pm10: -300 is outside the plausible range -200…20000 µg/m³',
    ]);
    // Bad names and non-numbers are field errors too; a record with no good field is rejected whole.
    const two = { ...good().records[0]!, m: { pm25: 'x', temp: 71 }, f: {} };
    const b = decodeBatch(JSON.stringify({ ...good(), records: [two] }), limits);
    expect((b.records[0] as EnvelopeError).message).toBe(
      'records[0].m: no valid field (records[0].m.pm25: expected a number, got string; ' +
        'records[0].m.temp: 71 is outside the plausible range -60…70 °C)',
    );
    // Cumulative values scale with the interval: only their sign is checked.
    const cou = { ...good().records[0]!, m: { gas_flow_cou: 1e9, ph: 14 }, f: {} };
    expect(decodeBatch(JSON.stringify({ ...good(), records: [cou] }), limits).dropped.size).toBe(0);
  });

  it('rejects oversize batches by record count and by bytes', () => {
    const env = good();
    env.records = Array.from({ length: limits.maxRecords + 1 }, () => good().records[0]!);
    expect(() => decodeEnvelope(JSON.stringify(env), limits)).toThrow(/records: 5001 records, over the limit of 5000/);
    expect(() => decodeEnvelope(JSON.stringify(env), { ...limits, maxBytes: 1000 })).toThrow(
      /over the 1000-byte limit/,
    );
  });

  it('decodes acknowledgements and refuses malformed ones', () => {
    expect(decodeAck('{"ep":"k3f9q2","seq":41}')).toEqual({ ep: 'k3f9q2', seq: 41 });
    expect(decodeAck(encodeAck({ ep: 'k3f9q2', seq: 41, t: NOW }))).toEqual({ ep: 'k3f9q2', seq: 41, t: NOW });
    expect(() => decodeAck('{"ep":"k3f9q2","seq":"x"}')).toThrow(/ack.seq/);
    expect(() => decodeAck('nope')).toThrow(/not JSON/);
  });

  it('tells acknowledgements, refusals and resend requests apart on ack/{gw}', () => {
    expect(decodeAckMessage(encodeAck({ ep: 'k3f9q2', seq: 41, t: NOW }))).toEqual({
      ack: { ep: 'k3f9q2', seq: 41, t: NOW },
    });
    const refused = { reason: 'v: unknown version 2, expected 1', ep: 'k3f9q2', from: 42, to: 61, t: NOW };
    expect(decodeAckMessage(encodeRefusal(refused))).toEqual({ refused });
    const resend = { ep: 'k3f9q2', from: 42, t: NOW };
    expect(JSON.parse(encodeResendRequest(resend).toString())).toEqual({ resend });
    expect(decodeAckMessage(encodeResendRequest(resend))).toEqual({ resend });
    expect(() => decodeAckMessage('{"resend":{"ep":"k3f9q2","from":-1,"t":1}}')).toThrow(/resend.from/);
    expect(() => decodeAckMessage('{"resend":{"from":0,"t":1}}')).toThrow(/resend.ep/);
    expect(() => decodeAckMessage('{"resend":{"ep":"k3f9q2","from":0}}')).toThrow(/resend.t/);
  });

  it('keeps a resend request from passing for an acknowledgement with a decoder that does not know it', () => {
    // A gateway built before resend requests reads ack/{gw} with decodeAck: it must refuse one, not apply it.
    expect(() => decodeAck(encodeResendRequest({ ep: 'k3f9q2', from: 42, t: NOW }))).toThrow(/ack.ep/);
  });
});
