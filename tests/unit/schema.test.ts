import { describe, expect, it } from 'vitest';
import { recordLine } from '../../ingest/schema.ts';

const r = { dev: 'aq-0007', kind: 'air.micro' as const, ts: 1795897926000, m: { pm25: 56, co: 0.8, temp: -8.5 } };

describe('record → line protocol', () => {
  it('writes readings as floats, the seq, and tags dev, gw, kind', () => {
    expect(recordLine('gw-1', 42, r)).toBe(
      'air,dev=aq-0007,gw=gw-1,kind=air.micro pm25=56,co=0.8,temp=-8.5,seq=42 1795897926000',
    );
  });

  it('writes flags other than N as string fields', () => {
    expect(recordLine('gw-1', 1, { ...r, f: { pm25: 'D', co: 'N' } })).toBe(
      'air,dev=aq-0007,gw=gw-1,kind=air.micro pm25=56,co=0.8,temp=-8.5,pm25_flag="D",seq=1 1795897926000',
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
    ).toBe('rsd,dev=rsd-01,gw=gw-1,kind=rsd no_ppm=1650,plate="蒙A \\"D1234\\"",fuel="diesel",seq=7 1795897926000');
  });

  it('tags interval data with agg, so an hourly value never overwrites a sample', () => {
    expect(recordLine('gw-1', 1, { ...r, agg: 'hour' })).toMatch(/^air,agg=hour,dev=aq-0007,/);
    expect(recordLine('gw-1', 1, { ...r, agg: 'rt' })).toMatch(/^air,dev=aq-0007,/);
  });

  it('adds site tags, escaping spaces and keeping Chinese text', () => {
    expect(recordLine('gw-1', 1, r, { district: '赛罕区', site: '内蒙古大学 南校区' })).toBe(
      'air,dev=aq-0007,district=赛罕区,gw=gw-1,kind=air.micro,site=内蒙古大学\\ 南校区 pm25=56,co=0.8,temp=-8.5,seq=1 1795897926000',
    );
  });

  it('maps device kinds to their measurements', () => {
    expect(recordLine('g', 0, { ...r, kind: 'stack.cems', m: { so2: 20 } })).toMatch(/^stack,/);
    expect(recordLine('g', 0, { ...r, kind: 'water.surface', m: { do: 7 } })).toMatch(/^water,/);
    expect(recordLine('g', 0, { ...r, kind: 'stack.nh3slip', m: { nh3: 2 } })).toMatch(/^nh3slip,/);
  });
});
