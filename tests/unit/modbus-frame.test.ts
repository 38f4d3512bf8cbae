import { describe, expect, it } from 'vitest';
import { crc16modbus, FC_READ_HOLDING, readRequestPdu, rtuFrame } from '../../protocol/modbus-frame.ts';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

describe('Modbus RTU CRC (docs/standards/modbus.md §1 vectors)', () => {
  it.each([
    ['01 03 00 00 00 01', '84 0A'],
    ['01 03 00 00 00 0A', 'C5 CD'],
    ['01 03 00 00 00 08', '44 0C'],
    ['FF 03 07 D0 00 01', '91 59'],
  ])('%s → %s', (body, crc) => {
    const c = crc16modbus(hex(body));
    expect(Buffer.from([c & 0xff, c >> 8]).toString('hex')).toBe(hex(crc).toString('hex'));
  });

  it('frames the SIM-AQ6 request of docs/standards/modbus.md §6', () => {
    expect(rtuFrame(1, readRequestPdu(FC_READ_HOLDING, 0, 12))).toEqual(hex('01 03 00 00 00 0C 45 CF'));
  });
});
