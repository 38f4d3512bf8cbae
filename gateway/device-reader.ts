// Reads one device through its link: plans block reads from the register map, decodes the values and
// turns status words into HJ 212 flags.
import type { SampleRecord } from '../protocol/envelope.ts';
import { decodeValue, registerCount } from '../protocol/modbus-values.ts';
import type { PolledDeviceConfig } from './config.ts';
import { flagsFromStateCode, flagsFromStatus, worse } from './flags.ts';
import type { StatusDef } from './templates.ts';

export interface Block {
  fc: 3 | 4;
  addr: number;
  count: number;
}

/** Registers further apart than this are read in separate requests rather than one with a hole. */
const MAX_HOLE = 8;
const MAX_READ = 125;

/** `maxHole` 0 never reads a register the map does not name (for instruments that refuse them). */
export function planBlocks(spans: { fc: 3 | 4; addr: number; count: number }[], maxHole = MAX_HOLE): Block[] {
  const blocks: Block[] = [];
  for (const fc of [3, 4] as const) {
    const sorted = spans.filter((s) => s.fc === fc).sort((a, b) => a.addr - b.addr);
    let cur: Block | undefined;
    for (const s of sorted) {
      const end = s.addr + s.count;
      if (cur && s.addr <= cur.addr + cur.count + maxHole && end - cur.addr <= MAX_READ) {
        cur.count = Math.max(cur.count, end - cur.addr);
      } else {
        cur = { fc, addr: s.addr, count: s.count };
        blocks.push(cur);
      }
    }
  }
  return blocks;
}

export interface RegisterSource {
  read(unit: number, fc: 3 | 4, addr: number, count: number): Promise<number[]>;
}

export class DeviceReader {
  readonly blocks: Block[];
  private fields: string[];
  private statuses: StatusDef[];

  constructor(readonly dev: PolledDeviceConfig) {
    const t = dev.template;
    this.statuses = t.status ? [t.status, ...(t.moreStatus ?? [])] : [];
    const spans = t.registers.map((r) => ({ fc: r.fc, addr: r.addr, count: registerCount(r.type) }));
    for (const s of this.statuses) spans.push({ fc: s.fc, addr: s.addr, count: 1 });
    if (t.stateCodes) spans.push({ fc: t.stateCodes.fc, addr: t.stateCodes.addr, count: 1 });
    this.blocks = planBlocks(spans, t.maxHole);
    this.fields = t.registers.map((r) => r.field);
  }

  async sample(link: RegisterSource, ts: number): Promise<SampleRecord> {
    const got = new Map<number, Map<number, number>>([
      [3, new Map()],
      [4, new Map()],
    ]);
    for (const b of this.blocks) {
      const regs = await link.read(this.dev.unit, b.fc, b.addr, b.count);
      const bank = got.get(b.fc)!;
      regs.forEach((v, i) => bank.set(b.addr + i, v));
    }
    const at = (fc: 3 | 4, addr: number, n: number) =>
      Array.from({ length: n }, (_, i) => got.get(fc)!.get(addr + i) ?? 0);
    const t = this.dev.template;
    const m: Record<string, number> = {};
    for (const r of t.registers) m[r.field] = decodeValue(at(r.fc, r.addr, registerCount(r.type)), 0, r);
    let f: Record<string, string> = {};
    for (const s of this.statuses)
      for (const [k, flag] of Object.entries(flagsFromStatus(s, at(s.fc, s.addr, 1)[0]!, this.fields)))
        f[k] = worse(f[k], flag);
    if (t.stateCodes)
      f = { ...f, ...flagsFromStateCode(t, at(t.stateCodes.fc, t.stateCodes.addr, 1)[0]!, this.fields) };
    const rec: SampleRecord = { dev: this.dev.id, kind: this.dev.kind, ts, m };
    if (Object.keys(f).length) rec.f = f;
    return rec;
  }
}
