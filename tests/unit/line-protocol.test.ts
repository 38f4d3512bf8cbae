import { describe, expect, it } from 'vitest';
import { encodePoint, escapeKey, escapeMeasurement, formatField } from '../../protocol/line-protocol.ts';

describe('line protocol', () => {
  it('escapes measurement, tag keys, tag values and field keys per their rules', () => {
    expect(escapeMeasurement('air quality,x')).toBe('air\\ quality\\,x');
    expect(escapeMeasurement('a=b')).toBe('a=b');
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d');
  });

  it('keeps Chinese text and escapes spaces in site names', () => {
    const line = encodePoint({
      measurement: 'air',
      tags: { site: '赛罕区 环保局', dev: 'aq-1', district: '赛罕区' },
      fields: { pm25: 56, note: '说 "好"' },
      ts: 1795897926000,
    });
    expect(line).toBe(
      'air,dev=aq-1,district=赛罕区,site=赛罕区\\ 环保局 pm25=56,note="说 \\"好\\"" 1795897926000000000',
    );
  });

  it('writes every number as a float so a field never changes type', () => {
    expect(formatField(56)).toBe('56');
    expect(formatField(-8.5)).toBe('-8.5');
    expect(formatField(true)).toBe('true');
    expect(() => formatField(NaN)).toThrow(RangeError);
  });

  it('sorts tags, drops empty tag values, and refuses a point with no fields', () => {
    expect(encodePoint({ measurement: 'm', tags: { b: '2', a: '1', c: '' }, fields: { x: 1 }, ts: 5 })).toBe(
      'm,a=1,b=2 x=1 5000000',
    );
    expect(() => encodePoint({ measurement: 'm', tags: {}, fields: {}, ts: 1 })).toThrow(/no fields/);
  });

  it('escapes backslashes and quotes inside string fields', () => {
    expect(formatField('a\\b"c')).toBe('"a\\\\b\\"c"');
  });
});
