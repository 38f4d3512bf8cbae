// Modbus register value codecs. 32-bit word orders are named by the order of the value's bytes on the
// wire (docs/standards/modbus.md §4): 123456.0 = 0x47F12000 is 47 F1 20 00 in ABCD, 20 00 47 F1 in CDAB,
// F1 47 00 20 in BADC and 00 20 F1 47 in DCBA.

export const VALUE_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

export interface ValueSpec {
  type: ValueType;
  order?: WordOrder;
  scale?: number;
  offset?: number;
}

export function registerCount(type: ValueType): 1 | 2 {
  return type === 'uint16' || type === 'int16' ? 1 : 2;
}

// For each order: the wire-byte index holding value byte A, B, C, D (big-endian value bytes).
const WIRE_INDEX: Record<WordOrder, readonly [number, number, number, number]> = {
  ABCD: [0, 1, 2, 3],
  CDAB: [2, 3, 0, 1],
  BADC: [1, 0, 3, 2],
  DCBA: [3, 2, 1, 0],
};

function wireBytes(regs: ArrayLike<number>, at: number, n: number): Buffer {
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeUInt16BE((regs[at + i] ?? 0) & 0xffff, i * 2);
  return b;
}

/** The raw (unscaled) value of `spec.type` starting at register `at`. */
export function decodeRaw(regs: ArrayLike<number>, at: number, spec: ValueSpec): number {
  if (at + registerCount(spec.type) > regs.length)
    throw new RangeError(`register ${at} is past the end of a ${regs.length}-register block`);
  if (spec.type === 'uint16') return regs[at]! & 0xffff;
  if (spec.type === 'int16') return ((regs[at]! & 0xffff) << 16) >> 16;
  const wire = wireBytes(regs, at, 2);
  const idx = WIRE_INDEX[spec.order ?? 'ABCD'];
  const be = Buffer.from([wire[idx[0]]!, wire[idx[1]]!, wire[idx[2]]!, wire[idx[3]]!]);
  if (spec.type === 'uint32') return be.readUInt32BE(0);
  if (spec.type === 'int32') return be.readInt32BE(0);
  return be.readFloatBE(0);
}

/** Engineering value: raw × scale + offset, without the binary noise of decimal scales (412 × 0.1 = 41.2). */
export function decodeValue(regs: ArrayLike<number>, at: number, spec: ValueSpec): number {
  const raw = decodeRaw(regs, at, spec);
  const v = scaled(raw, spec.scale ?? 1) + (spec.offset ?? 0);
  return spec.type === 'float32' && spec.scale === undefined && spec.offset === undefined
    ? parseFloat(raw.toPrecision(7)) // float32 carries ~7 significant digits; drop the widening noise
    : parseFloat(v.toPrecision(15));
}

function scaled(raw: number, scale: number): number {
  const inv = 1 / scale;
  const r = Math.round(inv);
  return r > 1 && Math.abs(inv - r) < 1e-9 ? raw / r : raw * scale;
}

/** Registers that hold `value` under `spec` (inverse of decodeValue; used by simulators). */
export function encodeValue(value: number, spec: ValueSpec): number[] {
  const raw = (value - (spec.offset ?? 0)) / (spec.scale ?? 1);
  const be = Buffer.alloc(4);
  switch (spec.type) {
    case 'uint16':
      return [clampInt(raw, 0, 0xffff)];
    case 'int16':
      return [clampInt(raw, -0x8000, 0x7fff) & 0xffff];
    case 'uint32':
      be.writeUInt32BE(clampInt(raw, 0, 0xffffffff));
      break;
    case 'int32':
      be.writeInt32BE(clampInt(raw, -0x80000000, 0x7fffffff));
      break;
    case 'float32':
      be.writeFloatBE(raw);
      break;
  }
  const idx = WIRE_INDEX[spec.order ?? 'ABCD'];
  const wire = Buffer.alloc(4);
  for (let v = 0; v < 4; v++) wire[idx[v]!] = be[v]!;
  return [wire.readUInt16BE(0), wire.readUInt16BE(2)];
}

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)));
}
