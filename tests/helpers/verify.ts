// The no-loss check: InfluxDB holds every record the gateway numbered, exactly once, with the values
// the simulated instrument actually served at that moment.
import { expect } from 'vitest';
import { TEMPLATES } from '../../gateway/templates.ts';
import { decodeValue } from '../../protocol/modbus-values.ts';
import type { Pipeline } from './pipeline.ts';

export async function verifyExactlyOnce(
  p: Pipeline,
  nextSeq: number,
  from?: Record<string, unknown>[],
): Promise<{ records: number }> {
  const rows = from ?? (await p.influx.rows(`SELECT * FROM air WHERE gw = '${p.gwId}'`));
  const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
  // Every seq 0..next-1 present exactly once: nothing lost, no record overwrote another.
  expect(seqs.length).toBe(nextSeq);
  const missing = [];
  for (let i = 0; i < nextSeq; i++)
    if (seqs[i] !== i) {
      missing.push(i);
      if (missing.length > 10) break;
    }
  expect(missing, 'first seqs out of place').toEqual([]);

  const byDevice = new Map(p.fleet.endpoints.map((e) => [e.id, e]));
  const t = TEMPLATES['SIM-AQ6']!;
  const served = [...p.served].sort((a, b) => a.at - b.at);
  for (const r of rows) {
    const ep = byDevice.get(String(r.dev))!;
    expect(ep, `device ${r.dev}`).toBeDefined();
    expect(r.kind).toBe('air.micro');
    const ts = Number(r.time);
    // The response the gateway got: the first this unit served at or after the sample time.
    const s = served.find((x) => x.port === ep.port && x.unit === ep.unit && x.at >= ts);
    expect(s, `a response served to ${r.dev} at or after ${ts}`).toBeDefined();
    expect(s!.at - ts).toBeLessThan(1000);
    for (const reg of t.registers)
      expect(r[reg.field], `${r.dev} seq ${r.seq} ${reg.field}`).toBe(decodeValue(s!.regs, reg.addr, reg));
  }
  return { records: rows.length };
}

/** Seqs read back for one gateway are exactly 0..next-1, each once: nothing lost, nothing stored twice. */
export function expectSeqsOnce(seqs: number[], next: number, what: string): void {
  const sorted = [...seqs].sort((a, b) => a - b);
  const wrong: string[] = [];
  for (let i = 0; i < Math.max(next, sorted.length) && wrong.length < 10; i++)
    if (sorted[i] !== i) wrong.push(`at ${i}: ${sorted[i]}`);
  expect(wrong, `${what}: ${sorted.length} seqs stored of ${next} sent`).toEqual([]);
}
