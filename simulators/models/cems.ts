// The SIM-CEMS flue-gas analyzer (docs/standards/modbus.md §7): FC 04 input registers, float32 CDAB, and a work
// state code (i12001) at 0x10. A plausible coal-fired unit under ultra-low emission limits, with an
// `excursion` a test or a load run can switch on to push values past their limits.
import { encodeValue } from '../../protocol/modbus-values.ts';
import type { SimUnit } from '../modbus-server.ts';
import { smoothNoise } from '../random.ts';

export interface CemsReading {
  so2: number;
  nox: number;
  o2: number;
  dust: number;
  flue_t: number;
  flow_v: number;
  flue_p: number;
  flue_rh: number;
  state: number;
}

export const CEMS_FIELDS = ['so2', 'nox', 'o2', 'dust', 'flue_t', 'flow_v', 'flue_p', 'flue_rh'] as const;

export function cemsReading(seed: number, t: Date): CemsReading {
  const s = Math.floor(t.getTime() / 1000);
  const n = (period: number, k: number) => smoothNoise(seed * 17 + k, s, period);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    so2: r2(18 + 6 * n(600, 1)),
    nox: r2(32 + 8 * n(900, 2)),
    o2: r2(6.5 + 0.8 * n(300, 3)),
    dust: r2(3 + n(1200, 4)),
    flue_t: r2(52 + 3 * n(1800, 5)),
    flow_v: r2(12 + 1.5 * n(600, 6)),
    flue_p: r2(-0.35 + 0.05 * n(600, 7)),
    flue_rh: r2(11 + n(1800, 8)),
    state: 0,
  };
}

/** Registers 0x00–0x10 for FC 04: eight float32 CDAB values and the state code. */
export function cemsRegisters(r: CemsReading): Map<number, number> {
  const regs = new Map<number, number>();
  CEMS_FIELDS.forEach((f, i) => {
    const [a, b] = encodeValue(r[f], { type: 'float32', order: 'CDAB' });
    regs.set(i * 2, a!);
    regs.set(i * 2 + 1, b!);
  });
  regs.set(0x10, r.state);
  return regs;
}

export class CemsUnit implements SimUnit {
  /** Values that replace the model's while set (an excursion), and a forced work state. */
  excursion: Partial<CemsReading> = {};
  silent?: boolean;
  delayMs?: number;

  constructor(readonly seed: number) {}

  registers(fc: number, now: Date): Map<number, number> {
    return fc === 4 ? cemsRegisters({ ...cemsReading(this.seed, now), ...this.excursion }) : new Map();
  }
}
