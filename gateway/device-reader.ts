// Reads one device through its link: plans block reads from the register map, decodes the values and
// turns status words into HJ 212 flags.
import type { SampleRecord } from '../protocol/envelope.ts';
import { decodeValue, registerCount } from '../protocol/modbus-values.ts';
import type { PolledDeviceConfig } from './config.ts';
import { flagsFromStateCode, flagsFromStatus } from './flags.ts';

export interface Block {
  fc: 3 | 4;
  addr: number;
  count: number;
}

/** Registers further apart than this are read in separate requests rather than one with a hole. */
const MAX_HOLE = 8;
const MAX_READ = 125;

export function planBlocks(spans: { fc: 3 | 4; addr: number; count: number }[]): Block[] {
  const blocks: Block[] = [];
  for (const fc of [3, 4] as const) {
    const sorted = spans.filter((s) => s.fc === fc).sort((a, b) => a.addr - b.addr);
    let cur: Block | undefined;
    for (const s of sorted) {
      const end = s.addr + s.count;
      if (cur && s.addr <= cur.addr + cur.count + MAX_HOLE && end - cur.addr <= MAX_READ) {
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

  constructor(readonly dev: PolledDeviceConfig) {
    const t = dev.template;
    const spans = t.registers.map((r) => ({ fc: r.fc, addr: r.addr, count: registerCount(r.type) }));
    if (t.status) spans.push({ fc: t.status.fc, addr: t.status.addr, count: 1 });
    if (t.stateCodes) spans.push({ fc: t.stateCodes.fc, addr: t.stateCodes.addr, count: 1 });
    this.blocks = planBlocks(spans);
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
    if (t.status) f = flagsFromStatus(t.status, at(t.status.fc, t.status.addr, 1)[0]!, this.fields);
    if (t.stateCodes)
      f = { ...f, ...flagsFromStateCode(t, at(t.stateCodes.fc, t.stateCodes.addr, 1)[0]!, this.fields) };
    const rec: SampleRecord = { dev: this.dev.id, kind: this.dev.kind, ts, m };
    if (Object.keys(f).length) rec.f = f;
    return rec;
  }
}
