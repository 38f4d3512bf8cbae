import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, type WordOrder } from '../../protocol/modbus-values.ts';

// docs/standards/modbus.md §4: 123456.0 = 0x47F12000, registers in wire order per word order.
const VECTOR: Record<WordOrder, [number, number]> = {
  ABCD: [0x47f1, 0x2000],
  CDAB: [0x2000, 0x47f1],
  BADC: [0xf147, 0x0020],
  DCBA: [0x0020, 0xf147],
};

describe('modbus register values', () => {
  for (const [order, regs] of Object.entries(VECTOR) as [WordOrder, [number, number]][]) {
    it(`float32 ${order}: 123456.0 both ways`, () => {
      expect(decodeValue(regs, 0, { type: 'float32', order })).toBe(123456);
      expect(encodeValue(123456, { type: 'float32', order })).toEqual(regs);
    });
  }

  it('uint32 and int32 follow the same word orders', () => {
    expect(decodeValue([0x0001, 0x0002], 0, { type: 'uint32', order: 'ABCD' })).toBe(0x00010002);
    expect(decodeValue([0x0002, 0x0001], 0, { type: 'uint32', order: 'CDAB' })).toBe(0x00010002);
    expect(decodeValue([0xffff, 0xfffe], 0, { type: 'int32', order: 'ABCD' })).toBe(-2);
    expect(encodeValue(-2, { type: 'int32', order: 'DCBA' })).toEqual([0xfeff, 0xffff]);
  });

  it('int16 is signed, uint16 is not (Hohhot winters need sub-zero temperatures)', () => {
    expect(decodeValue([0xffab], 0, { type: 'int16', scale: 0.1 })).toBe(-8.5);
    expect(decodeValue([0xffab], 0, { type: 'uint16' })).toBe(65451);
    expect(encodeValue(-8.5, { type: 'int16', scale: 0.1 })).toEqual([0xffab]);
  });

  it('applies scale and offset without binary noise (raw/100 - 40 temperature)', () => {
    expect(decodeValue([412], 0, { type: 'uint16', scale: 0.1 })).toBe(41.2);
    expect(decodeValue([80], 0, { type: 'uint16', scale: 0.01 })).toBe(0.8);
    expect(decodeValue([3250], 0, { type: 'uint16', scale: 0.01, offset: -40 })).toBe(-7.5);
    expect(encodeValue(-7.5, { type: 'uint16', scale: 0.01, offset: -40 })).toEqual([3250]);
  });

  it('refuses to read past the block', () => {
    expect(() => decodeValue([1], 0, { type: 'float32' })).toThrow(RangeError);
  });

  it('decodes the SIM-CEMS CDAB response of docs/standards/modbus.md §7', () => {
    const hex = '00 00 41 E0 00 00 42 38 00 00 41 00 66 66 40 86 33 33 42 51 66 66 41 46 33 33 BE B3 33 33 41 33 00 00';
    const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
    const regs = Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16BE(i * 2));
    const at = (i: number) => decodeValue(regs, i, { type: 'float32', order: 'CDAB' });
    expect([at(0), at(2), at(4), at(6), at(8), at(10), at(12), at(14)]).toEqual([
      28, 46, 8, 4.2, 52.3, 12.4, -0.35, 11.2,
    ]);
    expect(decodeValue(regs, 16, { type: 'uint16' })).toBe(0);
  });
});
