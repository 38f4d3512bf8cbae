// The HJ 212 loggers of the field classes: each class's readings survive the frame (codes, flags,
// the fumes platform code mapped back by the device's `codes`), interval data are the statistics of
// the model over the interval, and a logger sends minute/hour/day data when its clock crosses a boundary.
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, parseSegment, toRecord, uploadSegment } from '../../protocol/hj212.ts';
import { fieldSites, FUMES_CODES, LOGGER_CLASSES, type LoggerClass } from '../../simulators/field-sites.ts';
import { intervalFactors } from '../../simulators/hj212-factors.ts';
import { boundaryOf, Hj212Logger, type Factors } from '../../simulators/hj212-logger.ts';
import { noiseReading } from '../../simulators/models/noise.ts';
import { outfallReading } from '../../simulators/models/outfall.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { Node } from '../../protocol/config.ts';

const T0 = Date.UTC(2025, 5, 9, 4, 0); // 12:00 Beijing
const codesBack = (c?: Record<string, string>) =>
  c ? Object.fromEntries(Object.entries(c).map(([k, v]) => [v, k])) : undefined;

function throughFrame(st: string, cn: string, ts: number, factors: Factors) {
  const seg = uploadSegment({
    qn: '20250609120000000',
    st,
    cn,
    pw: '123456',
    mn: 'X',
    flag: 5,
    dataTime: '20250609120000',
    factors,
  });
  const [frame] = new FrameReader().push(encodeFrame(seg));
  return parseSegment((frame as { segment: Buffer }).segment.toString('utf8'));
}

describe('field loggers', () => {
  it.each(Object.keys(LOGGER_CLASSES) as LoggerClass[])(
    '%s: a real-time upload decodes to the model reading',
    (cls) => {
      const [site] = fieldSites(cls, 1, 500);
      const codes = codesBack(site!.codes);
      for (const h of [0, 3, 9, 12, 19]) {
        const t = new Date(T0 + h * 3_600_000);
        const r = site!.reading(t);
        const p = throughFrame(site!.st, '2011', t.getTime(), site!.factors(t));
        const rec = toRecord(p, site!.id, site!.kind, codes ? { codes } : {}).record;
        expect(rec.m).toEqual(r.m);
        const flagged = Object.fromEntries(Object.entries(rec.f ?? {}).filter(([k]) => !k.endsWith('_zs')));
        expect(flagged).toEqual(r.f);
      }
    },
  );
  it('fumes go out under the platform code, and a gateway device maps it back with codes', () => {
    const [site] = fieldSites('fumes', 1, 1);
    expect(Object.keys(site!.factors(new Date(T0)))).toContain(FUMES_CODES.fumes);
    const cfg = parseGatewayConfig(
      new Node('gw.yaml', '', {
        gateway: { id: 'gw-1' },
        mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'x' },
        outbox: { path: 'o.sqlite' },
        links: [{ name: 'l', type: 'hj212', listen: '127.0.0.1:0' }],
        devices: [{ id: 'fu-0001', kind: 'fumes', link: 'l', mn: site!.mn, codes: { v4x10: 'fumes' } }],
      }),
    );
    expect(cfg.devices[0]).toMatchObject({ codes: { v4x10: 'fumes' } });
    expect(() =>
      parseGatewayConfig(
        new Node('gw.yaml', '', {
          gateway: { id: 'gw-1' },
          mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'x' },
          outbox: { path: 'o.sqlite' },
          links: [{ name: 'l', type: 'hj212', listen: '127.0.0.1:0' }],
          devices: [{ id: 'fu-0001', kind: 'fumes', link: 'l', mn: site!.mn, codes: { v4x10: 'smoke' } }],
        }),
      ),
    ).toThrow(/not a key of the field registry/);
  });
  it('interval data: min, energetic mean and max of sound levels; flow totals in m³', () => {
    const f = intervalFactors((t) => noiseReading(2, t), T0, 3_600_000, 60_000);
    const leqs = Array.from({ length: 60 }, (_, i) => noiseReading(2, new Date(T0 + i * 60_000)).m.leq!);
    const energetic = 10 * Math.log10(leqs.reduce((a, v) => a + 10 ** (v / 10), 0) / 60);
    expect(f.Leq).toEqual({
      Min: Math.min(...leqs),
      Avg: Math.round(energetic * 1e4) / 1e4,
      Max: Math.max(...leqs),
      Flag: 'N',
    });
    const w = intervalFactors((t) => outfallReading(1, t), T0, 3_600_000, 60_000);
    expect(w.w00000!.Cou).toBeCloseTo((w.w00000!.Avg as number) * 3.6, 2);
    // The calibration hour of the COD analyser: no valid sample, so the hour is flagged C.
    const c = intervalFactors((t) => outfallReading(1, t), Date.UTC(2025, 5, 8, 18, 0), 600_000, 60_000);
    expect(c.w01018!.Flag).toBe('C');
  });
  it('a logger uploads an interval when its clock crosses the boundary, not at its first sample', () => {
    const [site] = fieldSites('stack.nh3slip', 1, 9);
    const sent: string[] = [];
    const l = new Hj212Logger({
      host: '127.0.0.1',
      port: 1,
      mn: site!.mn,
      st: site!.st,
      intervalMs: 30_000,
      factors: site!.factors,
      aggregates: site!.aggregates,
    });
    const upload = l.upload.bind(l);
    l.upload = (cn, t, f) => {
      sent.push(`${cn}@${new Date(t).toISOString()}`);
      upload(cn, t, f);
    };
    const day = Date.UTC(2025, 5, 8, 16); // 00:00 Beijing on 9 June
    l.sample(day - 30_000);
    l.sample(day);
    l.sample(day + 30_000);
    expect(sent).toEqual([
      '2011@2025-06-08T15:59:30.000Z',
      '2011@2025-06-08T16:00:00.000Z',
      '2051@2025-06-08T15:50:00.000Z',
      '2061@2025-06-08T15:00:00.000Z',
      '2031@2025-06-07T16:00:00.000Z',
      '2011@2025-06-08T16:00:30.000Z',
    ]);
    expect(l.unanswered).toBe(6);
    expect(boundaryOf(day + 1, 86_400_000)).toBe(day);
    l.stop();
  });
});
