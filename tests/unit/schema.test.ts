import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { recordLine } from '../../ingest/schema.ts';
import { decodeEnvelope, DEFAULT_LIMITS } from '../../protocol/envelope.ts';

const r = { dev: 'aq-0007', kind: 'air.micro' as const, ts: 1795897926000, m: { pm25: 56, co: 0.8, temp: -8.5 } };

describe('record → line protocol', () => {
  it('writes readings as floats, the seq, and tags dev, gw, kind', () => {
    expect(recordLine('gw-1', 42, r)).toBe(
      'air,dev=aq-0007,gw=gw-1,kind=air.micro pm25=56,co=0.8,temp=-8.5,seq=42 1795897926000000000',
    );
  });

  it('writes flags other than N as string fields', () => {
    expect(recordLine('gw-1', 1, { ...r, f: { pm25: 'D', co: 'N' } })).toBe(
      'air,dev=aq-0007,gw=gw-1,kind=air.micro pm25=56,co=0.8,temp=-8.5,pm25_flag="D",seq=1 1795897926000000000',
    );
  });

  it('writes text attributes as escaped string fields, not tags (a plate is unbounded)', () => {
    expect(
      recordLine('gw-1', 7, {
        dev: 'rsd-01',
        kind: 'rsd',
        ts: 1795897926000,
        m: { no_ppm: 1650 },
        a: { plate: '蒙A "D1234"', fuel: 'diesel' },
      }),
    ).toMatch(
      /^rsd,dev=rsd-01,gw=gw-1,kind=rsd no_ppm=1650,plate="蒙A \\"D1234\\"",fuel="diesel",seq=7 1795897926\d{9}$/,
    );
  });

  it('tags interval data with agg, so an hourly value never overwrites a sample', () => {
    expect(recordLine('gw-1', 1, { ...r, agg: 'hour' })).toMatch(/^air,agg=hour,dev=aq-0007,/);
    expect(recordLine('gw-1', 1, { ...r, agg: 'rt' })).toMatch(/^air,dev=aq-0007,/);
  });

  it('adds site tags, escaping spaces and keeping Chinese text', () => {
    expect(recordLine('gw-1', 1, r, { district: '赛罕区', site: '内蒙古大学 南校区' })).toBe(
      'air,dev=aq-0007,district=赛罕区,gw=gw-1,kind=air.micro,site=内蒙古大学\\ 南校区 pm25=56,co=0.8,temp=-8.5,seq=1 1795897926000000000',
    );
  });

  it('times samples on the millisecond and gives each event its own offset within it, the same on every replay', () => {
    const pass = (plate: string, speed: number) => ({
      dev: 'rsd-01',
      kind: 'rsd' as const,
      ts: 1795897926123,
      m: { speed, no_ppm: 600 },
      a: { plate, fuel: 'diesel' },
    });
    const time = (line: string) => line.slice(line.lastIndexOf(' ') + 1);
    expect(time(recordLine('gw-1', 1, r))).toBe('1795897926000000000');
    const a = time(recordLine('gw-1', 1, pass('蒙A12345', 40)));
    const b = time(recordLine('gw-1', 2, pass('蒙A54321', 40)));
    const c = time(recordLine('gw-1', 3, pass('蒙A12345', 41)));
    for (const t of [a, b, c]) expect(t.slice(0, 13)).toBe('1795897926123');
    expect(new Set([a, b, c]).size).toBe(3);
    // A replay under another seq, its fields in another order, is the same point.
    const replay = { ...pass('蒙A12345', 40), m: { no_ppm: 600, speed: 40 }, a: { fuel: 'diesel', plate: '蒙A12345' } };
    expect(time(recordLine('gw-1', 9, replay))).toBe(a);
  });

  it('maps device kinds to their measurements', () => {
    expect(recordLine('g', 0, { ...r, kind: 'stack.cems', m: { so2: 20 } })).toMatch(/^stack,/);
    expect(recordLine('g', 0, { ...r, kind: 'water.surface', m: { do: 7 } })).toMatch(/^water,/);
    expect(recordLine('g', 0, { ...r, kind: 'stack.nh3slip', m: { nh3: 2 } })).toMatch(/^nh3slip,/);
  });

  it('writes the records of docs/protocol.md §3.9 as the lines of §7.2', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const json = /```json\n(\{"v":1,"gw":"gw-saihan-01"[\s\S]*?)```/.exec(doc)![1]!;
    const lines = /The three records of the example in §3\.9[\s\S]*?```\n([\s\S]*?)```/
      .exec(doc)![1]!
      .trim()
      .split('\n');
    const env = decodeEnvelope(json, { ...DEFAULT_LIMITS, now: () => Date.UTC(2026, 10, 29) }); // after the example
    const site = { district: '新城区', site: '内蒙古大学 南校区' };
    expect(
      env.records.map((r, i) => recordLine(env.gw, env.seq + i, r, r.dev === 'aq-0007' ? site : undefined)),
    ).toEqual(lines);
  });
});
