// Device templates: register maps as data. A device names a template or carries its own map.
import type { DeviceKind } from '../protocol/kinds.ts';
import type { ValueSpec } from '../protocol/modbus-values.ts';

export interface RegisterDef extends ValueSpec {
  /** Envelope field name (a registry key, optionally with a statistic suffix). */
  field: string;
  addr: number;
  /** 3 = holding registers, 4 = input registers. */
  fc: 3 | 4;
}

export interface StatusBit {
  bit: number;
  /** HJ 212 data flag the bit sets (D fault, C calibration, M maintenance, T out of range, …). */
  flag: string;
  /** Fields the flag applies to; absent = every field of the device. */
  fields?: string[];
}

export interface StatusDef {
  addr: number;
  fc: 3 | 4;
  bits: StatusBit[];
}

export interface Template {
  name: string;
  kind: DeviceKind;
  description: string;
  registers: RegisterDef[];
  status?: StatusDef;
  /** How status codes in one register map to flags (for analyzers that report a state code, not bits). */
  stateCodes?: { addr: number; fc: 3 | 4; codes: Record<number, string> };
}

const u16 = (field: string, addr: number, scale?: number): RegisterDef =>
  scale === undefined ? { field, addr, fc: 3, type: 'uint16' } : { field, addr, fc: 3, type: 'uint16', scale };

export const TEMPLATES: Record<string, Template> = {
  'SIM-AQ6': {
    name: 'SIM-AQ6',
    kind: 'air.micro',
    description: 'Air micro-station, 6 pollutants + weather, FC 03 integers (docs/standards/modbus.md §6)',
    registers: [
      u16('pm25', 0x00),
      u16('pm10', 0x01),
      u16('so2', 0x02),
      u16('no2', 0x03),
      u16('co', 0x04, 0.01),
      u16('o3', 0x05),
      { field: 'temp', addr: 0x06, fc: 3, type: 'int16', scale: 0.1 },
      u16('rh', 0x07, 0.1),
      u16('pressure', 0x08, 0.1),
      u16('ws', 0x09, 0.1),
      u16('wd', 0x0a),
    ],
    status: {
      addr: 0x0b,
      fc: 3,
      bits: [
        { bit: 0, flag: 'D', fields: ['pm25', 'pm10'] },
        { bit: 1, flag: 'D', fields: ['so2', 'no2', 'co', 'o3'] },
        { bit: 2, flag: 'C', fields: ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3'] },
        { bit: 3, flag: 'M', fields: ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3'] },
        { bit: 4, flag: 'T', fields: ['pm25', 'pm10'] },
      ],
    },
  },
  'SIM-CEMS': {
    name: 'SIM-CEMS',
    kind: 'stack.cems',
    description: 'Flue-gas CEMS analyzer, FC 04 float32 CDAB (docs/standards/modbus.md §7)',
    registers: (['so2', 'nox', 'o2', 'dust', 'flue_t', 'flow_v', 'flue_p', 'flue_rh'] as const).map((field, i) => ({
      field,
      addr: i * 2,
      fc: 4 as const,
      type: 'float32' as const,
      order: 'CDAB' as const,
    })),
    stateCodes: { addr: 0x10, fc: 4, codes: { 0: 'N', 1: 'M', 2: 'D', 3: 'C', 5: 'M', 6: 'D' } },
  },
};
