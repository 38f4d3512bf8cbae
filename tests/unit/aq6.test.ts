import { describe, expect, it } from 'vitest';
import { FC_READ_HOLDING, readResponsePdu, rtuFrame } from '../../protocol/modbus-frame.ts';
import { decodeValue } from '../../protocol/modbus-values.ts';
import { AQ6_LAYOUT, aq6Reading, aq6Registers, STATUS, type Aq6Reading } from '../../simulators/models/aq6.ts';

// docs/standards/modbus.md §6: the values of packet A and the exact RTU response frame.
const PACKET_A: Aq6Reading = {
  pm25: 56,
  pm10: 98,
  so2: 12,
  no2: 35,
  co: 0.8,
  o3: 62,
  temp: -8.5,
  rh: 41.2,
  pressure: 88.9,
  ws: 2.3,
  wd: 315,
  status: 0,
};
const RESPONSE = '01 03 18 00 38 00 62 00 0C 00 23 00 50 00 3E FF AB 01 9C 03 79 00 17 01 3B 00 00 9F 3A';

describe('SIM-AQ6', () => {
  it('produces the RTU response frame of docs/standards/modbus.md §6 for packet A', () => {
    const image = aq6Registers(PACKET_A);
    const regs = Array.from({ length: 12 }, (_, a) => image.get(a)!);
    const frame = rtuFrame(1, readResponsePdu(FC_READ_HOLDING, regs));
    expect(frame.toString('hex')).toBe(RESPONSE.replace(/ /g, '').toLowerCase());
  });

  it('decodes back to the same values, integers and the float32 ABCD mirror alike', () => {
    const image = aq6Registers(PACKET_A);
    const regs = Array.from({ length: 0x116 + 1 }, (_, a) => image.get(a) ?? 0);
    for (const { name, addr, spec } of AQ6_LAYOUT) {
      expect(decodeValue(regs, addr, spec)).toBe(PACKET_A[name]);
      if (name !== 'status')
        expect(decodeValue(regs, 0x100 + addr * 2, { type: 'float32', order: 'ABCD' })).toBeCloseTo(PACKET_A[name], 4);
    }
  });

  it('is deterministic, seasonal and diurnal', () => {
    const jan = new Date('2026-01-15T04:00:00Z'); // noon in Beijing
    expect(aq6Reading(7, jan)).toEqual(aq6Reading(7, jan));
    const july = aq6Reading(7, new Date('2026-07-15T06:00:00Z'));
    expect(aq6Reading(7, jan).temp).toBeLessThan(july.temp);
    // Winter heating-season PM is higher than summer PM on average over a month.
    const mean = (month: number) => {
      let s = 0;
      for (let d = 1; d <= 28; d++) s += aq6Reading(7, new Date(Date.UTC(2026, month, d, 12))).pm25;
      return s / 28;
    };
    expect(mean(0)).toBeGreaterThan(mean(6) * 1.5);
  });

  it('raises the calibration bit for ten minutes a day', () => {
    let minutes = 0;
    for (let m = 0; m < 1440; m++) {
      if (aq6Reading(3, new Date(Date.UTC(2026, 0, 10, 0, m))).status & STATUS.calibrating) minutes++;
    }
    expect(minutes).toBe(10);
  });
});

describe('SIM-CEMS', async () => {
  const { cemsRegisters } = await import('../../simulators/models/cems.ts');
  it('produces the FC 04 CDAB registers of docs/standards/modbus.md §7', () => {
    const image = cemsRegisters({
      so2: 28,
      nox: 46,
      o2: 8,
      dust: 4.2,
      flue_t: 52.3,
      flow_v: 12.4,
      flue_p: -0.35,
      flue_rh: 11.2,
      state: 0,
    });
    const regs = Array.from({ length: 17 }, (_, a) => image.get(a)!);
    const hex = Buffer.from(regs.flatMap((r) => [r >> 8, r & 0xff]))
      .toString('hex')
      .toUpperCase();
    expect(hex).toBe('000041E000004238000041006666408633334251666641463333BEB3333341330000');
  });
});
