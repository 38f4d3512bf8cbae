// Instrument status → HJ 212 data flags (docs/standards/hj212.md §6). When several apply, the worst wins.
import type { StatusDef, Template } from './templates.ts';

// Stopped and communication failure outrank fault, which outranks maintenance, calibration, out of range, manual.
const SEVERITY = ['F', 'B', 'D', 'M', 'C', 'T', 'S'];

export function worse(a: string | undefined, b: string): string {
  if (a === undefined) return b;
  const ia = SEVERITY.indexOf(a);
  const ib = SEVERITY.indexOf(b);
  return ib !== -1 && (ia === -1 || ib < ia) ? b : a;
}

/** Flags for the fields of a template, given its status word; fields with N are left out. */
export function flagsFromStatus(status: StatusDef, word: number, fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of status.bits) {
    if (!(word & (1 << b.bit))) continue;
    for (const f of b.fields ?? fields) if (fields.includes(f)) out[f] = worse(out[f], b.flag);
  }
  return out;
}

/** Flags from an analyzer state code (i12001 style): one flag for every field. */
export function flagsFromStateCode(t: Template, code: number, fields: string[]): Record<string, string> {
  const flag = t.stateCodes?.codes[code] ?? 'D'; // an undocumented state is not a normal one
  if (flag === 'N') return {};
  return Object.fromEntries(fields.map((f) => [f, flag]));
}
