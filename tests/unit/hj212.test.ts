// HJ 212 frames against the domain reference (docs/standards/hj212.md §1.2, §9) and the 65 public
// frames of vectors/hj212.json.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkCrc,
  crc16Hj212,
  crc16Modbus,
  encodeFrame,
  FrameReader,
  Hj212Error,
  MAX_FRAME,
  parseDataTime,
  parseSegment,
  replyTo,
  toRecord,
  type RawFrame,
} from '../../protocol/hj212.ts';

const PACKET_A =
  '##0339QN=20240115103000123;ST=22;CN=2011;PW=123456;MN=150100A0000001000000A001;Flag=5;CP=&&DataTime=20240115103000;a34004-Rtd=56,a34004-Flag=N;a34002-Rtd=98,a34002-Flag=N;a21026-Rtd=12,a21026-Flag=N;a21004-Rtd=35,a21004-Flag=N;a21005-Rtd=0.8,a21005-Flag=N;a05024-Rtd=62,a05024-Flag=N;a01001-Rtd=-8.5,a01001-Flag=N;a01002-Rtd=41.2,a01002-Flag=N&&EC81';
const PACKET_B =
  '##0780QN=20240115100000456;ST=31;CN=2061;PW=123456;MN=150100C0000001000000B001;Flag=5;CP=&&DataTime=20240115090000;a00000-Cou=1152000.0,a00000-Min=310.2,a00000-Avg=320.0,a00000-Max=331.5,a00000-Flag=N;a34013-Min=3.1,a34013-Avg=4.2,a34013-Max=5.6,a34013-ZsMin=3.58,a34013-ZsAvg=4.85,a34013-ZsMax=6.46,a34013-Cou=4.838,a34013-Flag=N;a21026-Min=22.5,a21026-Avg=28.0,a21026-Max=36.4,a21026-ZsMin=25.96,a21026-ZsAvg=32.31,a21026-ZsMax=42.00,a21026-Cou=32.256,a21026-Flag=N;a21002-Min=39.8,a21002-Avg=46.0,a21002-Max=55.2,a21002-ZsMin=45.92,a21002-ZsAvg=53.08,a21002-ZsMax=63.69,a21002-Cou=52.992,a21002-Flag=N;a19001-Min=7.6,a19001-Avg=8.0,a19001-Max=8.4,a19001-Flag=N;a01012-Avg=52.3,a01012-Flag=N;a01011-Avg=12.4,a01011-Flag=N;a01014-Avg=11.2,a01014-Flag=N;a01013-Avg=-0.35,a01013-Flag=N&&ACC1';
const PACKET_C =
  '##0561QN=20240115090000789;ST=32;CN=2061;PW=123456;MN=150100D0000001000000C001;Flag=5;CP=&&DataTime=20240115080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=2.526,w01018-Min=38.2,w01018-Avg=40.1,w01018-Max=43.6,w01018-Flag=N;w21003-Cou=0.117,w21003-Min=1.62,w21003-Avg=1.85,w21003-Max=2.07,w21003-Flag=N;w21011-Cou=0.020,w21011-Min=0.28,w21011-Avg=0.32,w21011-Max=0.37,w21011-Flag=N;w21001-Cou=0.605,w21001-Min=8.9,w21001-Avg=9.6,w21001-Max=10.4,w21001-Flag=N&&F9C1';
const PACKET_D =
  '##0344QN=20240115103015001;ST=31;CN=2011;PW=123456;MN=150100C0000001000000B001;Flag=5;CP=&&DataTime=20240115103015;a34013-Rtd=4.5,a34013-ZsRtd=5.00,a34013-Flag=N;a21026-Rtd=27.0,a21026-ZsRtd=30.00,a21026-Flag=N;a21002-Rtd=45.0,a21002-ZsRtd=50.00,a21002-Flag=N;a19001-Rtd=7.5,a19001-Flag=N;a01012-Rtd=52.1,a01012-Flag=N;a01011-Rtd=12.3,a01011-Flag=N&&8201';

const CRLF = '\r\n';
const read = (text: string | Buffer) => {
  const r = new FrameReader();
  const out = r.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  const end = r.end();
  return end ? [...out, end] : out;
};
const frames = (xs: (RawFrame | Hj212Error)[]) => xs.filter((x): x is RawFrame => !(x instanceof Hj212Error));
const errors = (xs: (RawFrame | Hj212Error)[]) =>
  xs.filter((x): x is Hj212Error => x instanceof Hj212Error).map((e) => e.code);
const packet = (f: string) => {
  const [raw] = frames(read(f + CRLF));
  checkCrc(raw!);
  return parseSegment(raw!.segment.toString('utf8'));
};

describe('HJ 212 CRC16', () => {
  it('reproduces the Appendix A example (1C80, not CRC-16/MODBUS 0759)', () => {
    const seg = Buffer.from(
      'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&',
    );
    expect(crc16Hj212(seg).toString(16).toUpperCase()).toBe('1C80');
    expect(crc16Modbus(seg).toString(16).toUpperCase().padStart(4, '0')).toBe('0759');
  });

  it('has only eight possible low bytes (every step starts from reg >> 8)', () => {
    const lows = new Set<number>();
    for (let b = 0; b < 256; b++) lows.add(crc16Hj212(Uint8Array.of(1, 2, b)) & 0xff);
    expect([...lows].sort((a, b) => a - b)).toEqual([0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xc0, 0xc1]);
  });
});

describe('HJ 212 packets A–D of docs/standards/hj212.md §9', () => {
  it.each([
    [PACKET_A, 339, 'EC81'],
    [PACKET_B, 780, 'ACC1'],
    [PACKET_C, 561, 'F9C1'],
    [PACKET_D, 344, '8201'],
  ])('frames and checks %#', (f, len, crc) => {
    const [raw] = frames(read(f + CRLF));
    expect(raw!.segment.length).toBe(len);
    expect(raw!.crc).toBe(crc);
    expect(() => checkCrc(raw!)).not.toThrow();
    expect(encodeFrame(raw!.segment.toString('utf8')).toString()).toBe(f + CRLF);
  });

  it('packet A: real-time ambient air as an envelope record, Beijing time to UTC, and the 9014 reply', () => {
    const p = packet(PACKET_A);
    expect(p).toMatchObject({ st: '22', cn: '2011', mn: '150100A0000001000000A001', flag: 5, qn: '20240115103000123' });
    const { record, unknown } = toRecord(p, 'aq-st-01', 'air.station');
    expect(record).toEqual({
      dev: 'aq-st-01',
      kind: 'air.station',
      ts: Date.UTC(2024, 0, 15, 2, 30),
      m: { pm25: 56, pm10: 98, so2: 12, no2: 35, co: 0.8, o3: 62, temp: -8.5, rh: 41.2 },
    });
    expect(unknown).toEqual([]);
    expect(replyTo(p).toString()).toBe(
      '##0087QN=20240115103000123;ST=91;CN=9014;PW=123456;MN=150100A0000001000000A001;Flag=4;CP=&&&&FF01' + CRLF,
    );
  });

  it('packet B: hourly CEMS values with converted statistics, and its reply', () => {
    const p = packet(PACKET_B);
    const { record } = toRecord(p, 'cems-b001', 'stack.cems');
    expect(record.agg).toBe('hour');
    expect(record.ts).toBe(Date.UTC(2024, 0, 15, 1)); // DataTime is the start of the hour 09:00–10:00 Beijing
    expect(record.m).toMatchObject({
      nox_zsavg: 53.08,
      nox_avg: 46,
      so2_zsavg: 32.31,
      dust_zsavg: 4.85,
      dust_cou: 4.838,
      o2_avg: 8,
      gas_flow_cou: 1152000,
      flue_p_avg: -0.35,
    });
    expect(replyTo(p).toString()).toBe(
      '##0087QN=20240115100000456;ST=91;CN=9014;PW=123456;MN=150100C0000001000000B001;Flag=4;CP=&&&&CE81' + CRLF,
    );
  });

  it('packet C: hourly wastewater, and its reply', () => {
    const p = packet(PACKET_C);
    expect(toRecord(p, 'ww-1', 'water.outfall').record.m).toMatchObject({
      water_flow_cou: 63,
      cod_avg: 40.1,
      nh3n_cou: 0.117,
      tp_avg: 0.32,
      tn_max: 10.4,
      ph_min: 7.1,
    });
    expect(replyTo(p).toString()).toBe(
      '##0087QN=20240115090000789;ST=91;CN=9014;PW=123456;MN=150100D0000001000000C001;Flag=4;CP=&&&&4C80' + CRLF,
    );
  });

  it('packet D: real-time ZsRtd as the _zs fields the engine judges', () => {
    expect(toRecord(packet(PACKET_D), 'cems-b001', 'stack.cems').record.m).toEqual({
      dust: 4.5,
      dust_zs: 5,
      so2: 27,
      so2_zs: 30,
      nox: 45,
      nox_zs: 50,
      o2: 7.5,
      flue_t: 52.1,
      flow_v: 12.3,
    });
  });
});

describe('HJ 212 malformed packets of docs/standards/hj212.md §9', () => {
  it('M1: a changed value fails the CRC (computed BC81)', () => {
    const [raw] = frames(read(PACKET_A.replace('a34004-Rtd=56', 'a34004-Rtd=57') + CRLF));
    expect(() => checkCrc(raw!)).toThrow('E_CRC_MISMATCH: declared CRC EC81, computed BC81');
  });

  it('M2: a length one short lands on "&EC8", not a CRC; the next frame is still read', () => {
    const xs = read(PACKET_A.replace('##0339', '##0338') + CRLF + PACKET_D + CRLF);
    expect(errors(xs)).toEqual(['E_CRC_FORMAT']);
    expect(frames(xs).map((f) => f.crc)).toEqual(['8201']);
  });

  it('M3: 200 bytes of a frame wait for the rest, and are dropped as truncated at the end', () => {
    const r = new FrameReader();
    expect(r.push(Buffer.from(PACKET_A.slice(0, 200)))).toEqual([]);
    expect(r.pending).toBe(200);
    expect(r.end()?.code).toBe('E_TRUNCATED');
  });

  it('M4: a declared length over 1024', () => {
    expect(errors(read('##1025' + 'x'.repeat(1040) + CRLF))).toEqual(['E_LENGTH_RANGE']);
  });

  it('M5: a lower-case CRC is accepted', () => {
    expect(() => packet(PACKET_A.replace(/EC81$/, 'ec81'))).not.toThrow();
  });

  it('reads frames cut at every byte, after garbage, reported once', () => {
    const stream = Buffer.from('noise\r\n' + PACKET_A + CRLF + PACKET_D + CRLF);
    const r = new FrameReader();
    const out: (RawFrame | Hj212Error)[] = [];
    for (const b of stream) out.push(...r.push(Buffer.of(b)));
    expect(errors(out)).toEqual(['E_HEADER']);
    expect(frames(out).map((f) => f.crc)).toEqual(['EC81', '8201']);
  });
});

describe('HJ 212 stream resync (docs/standards/hj212.md §1.3)', () => {
  const segmentOf = (f: string) => f.slice(6, -4);
  afterEach(() => vi.restoreAllMocks());

  it('resyncs through "##9" repeated without building an error, a string or a view per candidate', () => {
    // Errors are counted through the name every Hj212Error sets; strings and views through Buffer's methods.
    let built = 0;
    Object.defineProperty(Hj212Error.prototype, 'name', {
      configurable: true,
      get: () => 'Hj212Error',
      set: () => void built++,
    });
    try {
      const strings = vi.spyOn(Buffer.prototype, 'toString');
      const views = vi.spyOn(Buffer.prototype, 'subarray');
      const r = new FrameReader();
      const out = r.push(Buffer.from('##9'.repeat(10_000) + PACKET_D + CRLF));
      expect(errors(out)).toEqual(['E_LENGTH_FORMAT']);
      expect(frames(out).map((f) => f.crc)).toEqual(['8201']);
      expect(built).toBe(1);
      expect(strings.mock.calls.length).toBeLessThan(5);
      expect(views.mock.calls.length).toBeLessThan(5);
    } finally {
      delete (Hj212Error.prototype as { name?: string }).name;
    }
  });

  it('reports a run of garbage once however it is cut, and again after a good frame', () => {
    const r = new FrameReader();
    const out = ['##9', '##9##', '9###', 'x' + PACKET_A + CRLF, '#####' + PACKET_D + CRLF].flatMap((c) =>
      r.push(Buffer.from(c)),
    );
    expect(errors(out)).toEqual(['E_LENGTH_FORMAT', 'E_LENGTH_FORMAT']);
    expect(frames(out).map((f) => f.crc)).toEqual(['EC81', '8201']);
  });

  it('a stray "#" just before a frame costs nothing of the frame', () => {
    for (const lead of ['#', 'noise#', '###', '##0#', '##03#', '##033#']) {
      const xs = read(lead + PACKET_A + CRLF);
      expect(
        frames(xs).map((f) => f.crc),
        JSON.stringify(lead),
      ).toEqual(['EC81']);
      expect(errors(xs).length, JSON.stringify(lead)).toBe(1);
    }
  });

  it('a bogus header whose length lands on the end of a later frame does not swallow it', () => {
    const tail = PACKET_D + CRLF;
    const filler = 'garbage of a logger that rebooted mid-frame ';
    const lie = String(filler.length + tail.length - 6).padStart(4, '0'); // its CRC and CR LF are D's
    const xs = read(`##${lie}${filler}${tail}`);
    expect(errors(xs)).toEqual(['E_TRUNCATED']);
    expect(frames(xs).map((f) => f.segment.toString())).toEqual([segmentOf(PACKET_D)]);
  });

  it('a frame after a bogus header is read at once, not when the bogus length has arrived', () => {
    const r = new FrameReader();
    const out = r.push(Buffer.from('##0900' + 'x'.repeat(10) + PACKET_A + CRLF));
    expect(frames(out).map((f) => f.crc)).toEqual(['EC81']);
    expect(r.pending).toBe(0);
    expect(r.end()).toBeNull();
  });

  it('a frame cut short by the next one: the next one is read, fed byte by byte', () => {
    const stream = Buffer.from(PACKET_B.slice(0, 300) + PACKET_A + CRLF + PACKET_D + CRLF);
    const r = new FrameReader();
    const out: (RawFrame | Hj212Error)[] = [];
    for (const b of stream) out.push(...r.push(Buffer.of(b)));
    expect(errors(out)).toEqual(['E_TRUNCATED']);
    expect(frames(out).map((f) => f.crc)).toEqual(['EC81', '8201']);
  });

  it('holds at most an incomplete frame between pushes', () => {
    const r = new FrameReader();
    r.push(Buffer.from('##1024' + 'y'.repeat(1029)));
    expect(r.pending).toBe(MAX_FRAME - 1);
    expect(frames(r.push(Buffer.from('y'))).length).toBe(0); // the bogus CRC "yyyy": dropped
    expect(r.pending).toBeLessThan(MAX_FRAME);
  });
});

describe('HJ 212-2025 (docs/standards/hj212.md §8)', () => {
  it('checks the official examples with the 2017 CRC, and answers a heartbeat with 9013', () => {
    const p = packet(
      '##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200',
    );
    expect(p.flag! >> 2).toBe(2);
    expect(encodeFrame('QN=20240601085857223;ST=91;CN=9013;PW=123456;MN=;Flag=8;CP=&&&&').toString()).toBe(
      '##0063QN=20240601085857223;ST=91;CN=9013;PW=123456;MN=;Flag=8;CP=&&&&48C0' + CRLF,
    );
    const hb = parseSegment('QN=20240601085857223;ST=32;CN=9015;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&');
    expect(replyTo(hb).toString()).toMatch(
      /^##\d{4}QN=20240601085857223;ST=91;CN=9013;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&&&[0-9A-F]{4}\r\n$/,
    );
    expect(
      parseSegment('QN=20240601085857223;ST=31;CN=2051;PW=123456;MN=X;Flag=9;RF=1;CP=&&DataTime=20240520210600&&')
        .resent,
    ).toBe(true);
  });

  it("maps 2005 codes, keeps unknown codes out and names them, and puts a factor's flag on each of its fields", () => {
    const p = parseSegment(
      'ST=31;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;02-Rtd=36.9,02-ZsRtd=40.1,02-Flag=D;S01-Rtd=8.1;a21026z-Rtd=40;a34013-Foo=1&&',
    );
    const { record, unknown } = toRecord(p, 'c', 'stack.cems');
    expect(record.m).toEqual({ so2: 36.9, so2_zs: 40.1, o2: 8.1 });
    expect(record.f).toEqual({ so2: 'D', so2_zs: 'D' });
    expect(unknown).toEqual(['a21026z', 'a34013-Foo']);
  });

  it("scales values whose unit differs from the registry's, and refuses impossible times", () => {
    const p = parseSegment('ST=22;CN=2011;MN=M;CP=&&DataTime=20240115103000;a34004-Rtd=56000&&');
    expect(toRecord(p, 'a', 'air.micro', { scale: { a34004: 0.001 } }).record.m).toEqual({ pm25: 56 });
    expect(() => parseDataTime('20240230103000')).toThrow('not a real time');
    expect(() => parseSegment('ST=22;CN=2011;MN=M;CP=&&DataTime=1&&')).not.toThrow();
    expect(() => toRecord(parseSegment('ST=22;CN=1011;MN=M;CP=&&&&'), 'a', 'air.micro')).toThrow(
      'CN 1011 is not a data upload',
    );
    expect(() => parseSegment('ST=22;CN=2011;CP=&&&&')).toThrow('E_SYNTAX: header has no MN');
  });
});

describe('HJ 212 public frames (vectors/hj212.json)', () => {
  type Vector = { id: string; frame: string; valid: boolean; expected_fields?: Record<string, any> };
  const vectors = JSON.parse(
    readFileSync(new URL('../fixtures/hj212-vectors.json', import.meta.url), 'utf8'),
  ) as Vector[];

  it('has 65 frames', () => expect(vectors).toHaveLength(65));

  for (const v of vectors) {
    it(`${v.valid ? 'accepts' : 'rejects'} ${v.id}`, () => {
      const xs = read(v.frame + CRLF);
      const got = frames(xs);
      let ok = got.length === 1;
      if (ok)
        try {
          checkCrc(got[0]!);
        } catch {
          ok = false;
        }
      expect(ok).toBe(v.valid);
      if (!v.valid) {
        expect(errors(xs).length + (got.length ? 1 : 0)).toBeGreaterThan(0);
        return;
      }
      // Framing-valid but meaningless: an ST of two NUL bytes is refused by name.
      if (v.id === 'xy-real-blank-st') {
        expect(() => parseSegment(got[0]!.segment.toString('utf8'))).toThrow('E_SYNTAX: ST "\\u0000\\u0000"');
        return;
      }
      const p = parseSegment(got[0]!.segment.toString('utf8'));
      const e = v.expected_fields!;
      expect({ ST: p.st, CN: p.cn, MN: p.mn, Flag: p.flag ?? null, DataTime: p.cp.fields.DataTime ?? null }).toEqual({
        ST: e.ST,
        CN: e.CN,
        MN: e.MN,
        Flag: e.Flag,
        DataTime: e.DataTime,
      });
      if (e.QN !== undefined) expect(p.qn).toBe(e.QN);
      if (e.PW !== undefined) expect(p.pw).toBe(e.PW);
      if (e.PNUM !== undefined) expect(p.pnum).toBe(Number(e.PNUM));
      if (e.PNO !== undefined) expect(p.pno).toBe(Number(e.PNO));
      const cp: Record<string, string> = { ...p.cp.fields };
      for (const [code, fields] of p.cp.factors)
        for (const [s, val] of Object.entries(fields)) cp[`${code}-${s}`] = val;
      for (const [k, want] of Object.entries(e.cp as Record<string, unknown>))
        expect(typeof want === 'number' ? Number(cp[k]) : cp[k], k).toEqual(want);
    });
  }
});
