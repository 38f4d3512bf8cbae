// The generic model: any device template served as a Modbus unit, so a gateway config can be dry-run
// before the field. Each field moves around a typical value of its registry key with a daily cycle and
// smooth noise; status words read 0 and the state code its normal value. Values are encoded exactly as
// the template says (type, word order, scale, offset, address) and, like every model here, are a pure
// function of seed and clock.
import { decodeValue, encodeValue, registerCount, type ValueSpec } from '../../protocol/modbus-values.ts';
import { parseFieldName } from '../../protocol/pollutants.ts';
import * as T from '../../protocol/time.ts';
import type { SimUnit } from '../modbus-server.ts';
import { smoothNoise } from '../random.ts';
import { typicalOf } from './typical.ts';
import { noiseReading } from './noise.ts';
import type { Reading } from './reading.ts';
import { waterReading } from './water.ts';

/** What the simulator needs of a template (gateway/templates.ts' Template has this shape). */
export interface SimRegister extends ValueSpec {
  field: string;
  addr: number;
  fc: number;
}
export interface SimTemplate {
  name: string;
  kind: string;
  registers: readonly SimRegister[];
  status?: { addr: number; fc: number };
  moreStatus?: readonly { addr: number; fc: number }[];
  stateCodes?: { addr: number; fc: number; codes: Record<number, string> };
}

/**
 * The field-class models behind a template of their kind: a sonde's DO follows photosynthesis and drifts
 * low as its membrane fouls, a sound meter's level follows the traffic. A reading the model flags (the
 * calibrator's 94 dB tone, a cleaning) is not served: a template's status words say nothing is wrong.
 */
const CLASS_MODELS: Record<string, (seed: number, t: Date) => Reading> = {
  noise: (seed, t) => {
    const r = noiseReading(seed, t);
    return { m: { ...r.m, la: r.m.leq! }, f: r.f.leq ? { ...r.f, la: r.f.leq } : r.f };
  },
  'water.surface': (seed, t) => waterReading(seed, t),
  'water.source': (seed, t) => waterReading(seed, t, { source: true }),
};

const DAY_S = T.DAY / 1000;
const BEIJING_S = T.BEIJING_OFFSET_MS / 1000;

/** The state code that means "running": the lowest one the template maps to N (0 when none does). */
function normalState(codes: Record<number, string>): number {
  const normal = Object.entries(codes)
    .filter(([, f]) => f === 'N')
    .map(([c]) => Number(c));
  return normal.length ? Math.min(...normal) : 0;
}

export class TemplateUnit implements SimUnit {
  silent?: boolean;
  delayMs?: number;

  constructor(
    readonly template: SimTemplate,
    readonly seed: number,
  ) {}

  /** The values served at `now`, as a reader decodes them (encoding rounds integers, floats keep 7 digits). */
  values(now: Date): Record<string, number> {
    const raw = this.model(now);
    return Object.fromEntries(
      this.template.registers.map((r) => [r.field, decodeValue(encodeValue(raw[r.field]!, r), 0, r)]),
    );
  }

  /** Each field from its class's model where it has one (unflagged), else around its typical value, before encoding. */
  private model(now: Date): Record<string, number> {
    const cls = CLASS_MODELS[this.template.kind]?.(this.seed, now);
    const tSec = Math.floor(now.getTime() / 1000);
    const hour = ((((tSec + BEIJING_S) % DAY_S) + DAY_S) % DAY_S) / 3600;
    const out: Record<string, number> = {};
    this.template.registers.forEach((r, i) => {
      const t = typicalOf(parseFieldName(r.field)?.key ?? r.field, this.template.kind);
      const k = this.seed * 97 + i * 13;
      const daily = t.daily * Math.cos(((hour - t.peak) / 12) * Math.PI);
      const noise = t.noise * (0.8 * smoothNoise(k, tSec, 900) + 0.2 * smoothNoise(k + 1, tSec, 60));
      out[r.field] = Math.min(t.max, Math.max(t.min, t.base + daily + noise));
      const own = cls?.m[r.field];
      if (own !== undefined && cls!.f[r.field] === undefined) out[r.field] = own;
    });
    return out;
  }

  registers(fc: number, now: Date): Map<number, number> {
    const regs = this.holes(fc);
    const raw = this.model(now);
    for (const r of this.template.registers) {
      if (r.fc !== fc) continue;
      encodeValue(raw[r.field]!, r).forEach((w, i) => regs.set(r.addr + i, w));
    }
    const s = this.template.stateCodes;
    if (s && s.fc === fc) regs.set(s.addr, normalState(s.codes));
    return regs;
  }

  /**
   * Zeros from the lowest to the highest address the template names for `fc`: a reader may read across
   * registers the map leaves out, as it would on the instrument. Status words stay 0 (nothing wrong).
   */
  private holes(fc: number): Map<number, number> {
    const t = this.template;
    const spans = [
      ...t.registers.map((r) => ({ fc: r.fc, addr: r.addr, count: registerCount(r.type) })),
      ...[t.status, ...(t.moreStatus ?? []), t.stateCodes]
        .filter((s) => s !== undefined)
        .map((s) => ({ ...s, count: 1 })),
    ].filter((s) => s.fc === fc);
    const regs = new Map<number, number>();
    if (!spans.length) return regs;
    const lo = Math.min(...spans.map((s) => s.addr));
    const hi = Math.max(...spans.map((s) => s.addr + s.count));
    for (let a = lo; a < hi; a++) regs.set(a, 0);
    return regs;
  }
}
