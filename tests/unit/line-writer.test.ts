import { describe, expect, it } from 'vitest';
import { LineWriter, writeDigits } from '../../ingest/line-writer.ts';
import { recordLine, writeRecordLine, type SiteInfo } from '../../ingest/schema.ts';
import { readingSpans } from '../../protocol/envelope-spans.ts';
import { decodeBatch, DEFAULT_LIMITS, EnvelopeError, type SampleRecord } from '../../protocol/envelope.ts';

const TS = 1767225600000; // 2026-01-01T00:00:00Z
const limits = { ...DEFAULT_LIMITS, now: () => TS + 86_400_000 };

/** The lines ingest writes for an envelope's payload, as it writes them (bytes copied where it can). */
function written(payload: string, sites?: Map<string, SiteInfo>): { lines: string[]; copied: boolean } {
  const bytes = Buffer.from(payload);
  const { header, records, fields } = decodeBatch(bytes, limits);
  const spans = readingSpans(bytes, records.length);
  const w = new LineWriter(16, 1); // tiny, so that every test also grows it
  records.forEach((r, k) => {
    if (r instanceof EnvelopeError) return;
    const site = sites?.get(r.dev);
    if (spans)
      writeRecordLine(w, header.gw, header.seq + k, r, site, bytes, spans[2 * k]!, spans[2 * k + 1]!, fields[k]!);
    else w.text(recordLine(header.gw, header.seq + k, r, site));
  });
  const { text, ends } = w.done();
  const lines = text.toString().split('\n').slice(0, -1);
  expect(ends.length).toBe(lines.length);
  expect(ends[ends.length - 1]).toBe(text.length);
  return { lines, copied: spans !== null };
}

/** The lines made from the parsed records, one string each: what the copied bytes must equal. */
function expected(payload: string, sites?: Map<string, SiteInfo>): string[] {
  const { header, records } = decodeBatch(payload, limits);
  return records.flatMap((r, k) =>
    r instanceof EnvelopeError ? [] : [recordLine(header.gw, header.seq + k, r, sites?.get(r.dev))],
  );
}

const envelope = (records: unknown[], extra = '') =>
  `{"v":1,"gw":"gw-7","ep":"e1","seq":40,"records":${JSON.stringify(records)}${extra}}`;

function randomRecord(i: number): SampleRecord {
  const value = () => {
    const x = Math.random();
    return x < 0.3 ? Math.round(x * 300) : x < 0.6 ? Math.round(x * 1e4) / 100 : x < 0.8 ? -Math.random() * 20 : x / 3;
  };
  const r: SampleRecord = {
    dev: `aq-${i % 13}`,
    kind: i % 5 === 0 ? 'air.station' : 'air.micro',
    ts: TS + i * 1000,
    m: { pm25: value() * 2 + 5, pm10: Math.abs(value()) + 10, temp: value(), rh: Math.abs(value()) % 100, co: 0.4 },
  };
  if (i % 3 === 0) r.f = { pm25: 'D', pm10: 'N', co: 'Td' };
  if (i % 7 === 0) r.agg = i % 2 ? 'hour' : 'min';
  return r;
}

describe('lines written as bytes from the envelope', () => {
  it('equal, byte for byte, the lines made from the parsed records', () => {
    const records = Array.from({ length: 500 }, (_, i) => randomRecord(i));
    const sites = new Map<string, SiteInfo>([['aq-3', { district: '新城区', site: 'Station 3' }]]);
    const payload = envelope(records);
    const got = written(payload, sites);
    expect(got.copied).toBe(true);
    expect(got.lines).toEqual(expected(payload, sites));
    expect(got.lines).toHaveLength(500);
  });

  it('read envelopes laid out otherwise: spaces, keys in another order, the header after the records', () => {
    const r = randomRecord(3);
    const pretty = JSON.stringify({ records: [{ m: r.m, ts: r.ts, f: r.f, kind: r.kind, dev: r.dev }], v: 1 }, null, 2);
    const payload = pretty.replace(/\n}$/, ',\n  "gw": "gw-7", "ep" : "e1",\t"seq":40\n}');
    const got = written(payload);
    expect(got.copied).toBe(true);
    expect(got.lines).toEqual(expected(payload));
  });

  it('store a number as the gateway wrote it (35.0 is 35), and fall back on exponents', () => {
    const payload = `{"v":1,"gw":"gw-7","ep":"e1","seq":1,"records":[{"dev":"a","kind":"air.micro","ts":${TS},"m":{"pm25":35.0,"temp":-0.50}},{"dev":"a","kind":"air.micro","ts":${TS + 1},"m":{"pm25":3.5e1}}]}`;
    const got = written(payload);
    expect(got.lines[0]).toBe(`air,dev=a,gw=gw-7,kind=air.micro pm25=35.0,temp=-0.50,seq=1 ${TS}000000`);
    expect(got.lines[1]).toBe(expected(payload)[1]);
    expect(got.lines[1]).toContain(' pm25=35,seq=2 ');
  });

  it('make the line from the parsed record where the text would say something else', () => {
    const at = `"dev":"a","kind":"air.micro","ts":${TS}`;
    const cases = [
      // a refused reading is left out of the line
      `{${at},"m":{"pm25":35,"bogus":1,"pm10":-5}}`,
      // a repeated name: JSON.parse keeps the last
      `{${at},"m":{"pm25":1,"pm25":2}}`,
      // a name written with an escape
      `{${at},"m":{"pm\\u00325":7}}`,
      // a key that holds the text "m": of another key
      `{${at},"x\\"m":{"pm25":999999},"m":{"pm25":12}}`,
      // a string, true and null among the readings: refused, the rest kept
      `{${at},"m":{"pm25":"12","pm10":true,"so2":null,"no2":30}}`,
    ];
    for (const rec of cases) {
      const payload = `{"v":1,"gw":"gw-7","ep":"e1","seq":1,"records":[${rec}]}`;
      expect(written(payload).lines, rec).toEqual(expected(payload));
    }
    expect(written(`{"v":1,"gw":"gw-7","ep":"e1","seq":1,"records":[{${at},"m":{"pm25":1,"pm25":2}}]}`).lines).toEqual([
      `air,dev=a,gw=gw-7,kind=air.micro pm25=2,seq=1 ${TS}000000`,
    ]);
  });

  it('leave events and records with attributes to the parsed path (their time offset hashes the values)', () => {
    const payload = envelope([
      {
        dev: 'rsd-1',
        kind: 'rsd',
        ts: TS,
        m: { no_ppm: 1650, co2_pct: 12.5 },
        a: { plate: '蒙A12345', fuel: 'diesel' },
      },
      { dev: 'aq-1', kind: 'air.micro', ts: TS, m: { pm25: 12 } },
    ]);
    const got = written(payload);
    expect(got.lines).toEqual(expected(payload));
    expect(got.lines[0]).toContain('plate="蒙A12345"');
  });

  it('find no spans in an envelope whose records are not all objects with one m', () => {
    const bad = Buffer.from(`{"v":1,"gw":"g","ep":"e","seq":1,"records":[{"dev":"a","kind":"air.micro","ts":1}]}`);
    expect(readingSpans(bad, 1)).toBeNull();
    expect(readingSpans(Buffer.from(`{"v":1,"gw":"g","records":[]}`), 1)).toBeNull();
    expect(readingSpans(Buffer.from(`{"v":1,"gw":"g"}`), 0)).toBeNull();
    expect(readingSpans(Buffer.from(`{"v":1,"records":[{"m":{"a":1}}`), 1)).toBeNull(); // cut short
    const ok = Buffer.from(`{"records":[{"m":{"a":1},"n":"}"}]}`);
    expect([...readingSpans(ok, 1)!]).toEqual([17, 24]);
  });
});

describe('LineWriter', () => {
  it('grows, and keeps UTF-8 text and where each line ends', () => {
    const w = new LineWriter(4, 1);
    const texts = Array.from({ length: 100 }, (_, i) => `alert,dev=站点${i} state="open" ${i}`);
    for (const t of texts) w.text(t);
    const { text, ends } = w.done();
    expect(text.toString()).toBe(texts.join('\n') + '\n');
    expect(ends[0]).toBe(Buffer.byteLength(texts[0]!) + 1);
    expect(w.lines).toBe(100);
  });

  it('keeps what each writer wrote while others write after it, across many shared slabs', () => {
    const kept: { text: Buffer; want: string }[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = new LineWriter(300 + (i % 7) * 100, 2);
      const b = new LineWriter(64, 1); // written while `a` is open
      const lines = Array.from({ length: 1 + (i % 5) }, (_, k) => `m,dev=d${i} v=${k}${'x'.repeat((i * k) % 400)}`);
      for (const l of lines) a.text(l);
      b.text(`other ${i}`);
      kept.push({ text: a.done().text, want: lines.join('\n') + '\n' });
      kept.push({ text: b.done().text, want: `other ${i}\n` });
    }
    for (const k of kept) expect(k.text.toString()).toBe(k.want);
  });

  it('writes the digits of integers up to 2^53', () => {
    const buf = Buffer.alloc(32);
    for (const n of [0, 7, 10, 999_999_999, 1_000_000_000, 1_000_000_007, TS, Number.MAX_SAFE_INTEGER]) {
      expect(buf.toString('latin1', 0, writeDigits(buf, 0, n))).toBe(String(n));
    }
  });
});
