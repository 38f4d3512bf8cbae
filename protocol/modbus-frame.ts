// Modbus PDUs for the read functions we use (FC 03 holding, FC 04 input registers), the TCP MBAP
// header and the RTU CRC. Simulators build responses with these; tests check them against vectors.

export const FC_READ_HOLDING = 0x03;
export const FC_READ_INPUT = 0x04;

export const EXC_ILLEGAL_FUNCTION = 0x01;
export const EXC_ILLEGAL_ADDRESS = 0x02;
export const EXC_ILLEGAL_VALUE = 0x03;
export const EXC_DEVICE_FAILURE = 0x04;
export const EXC_GATEWAY_NO_RESPONSE = 0x0b;

/** CRC-16/MODBUS: init 0xFFFF, reflected poly 0xA001; sent low byte first. */
export function crc16modbus(bytes: Uint8Array): number {
  let reg = 0xffff;
  for (const b of bytes) {
    reg ^= b;
    for (let i = 0; i < 8; i++) reg = reg & 1 ? (reg >>> 1) ^ 0xa001 : reg >>> 1;
  }
  return reg;
}

/** Appends the CRC (low byte first) to an RTU frame body `unit | pdu`. */
export function rtuFrame(unit: number, pdu: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from([unit]), pdu]);
  const crc = crc16modbus(body);
  return Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]);
}

export function readRequestPdu(fc: number, addr: number, count: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = fc;
  b.writeUInt16BE(addr, 1);
  b.writeUInt16BE(count, 3);
  return b;
}

export function readResponsePdu(fc: number, regs: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(2 + regs.length * 2);
  b[0] = fc;
  b[1] = regs.length * 2;
  for (let i = 0; i < regs.length; i++) b.writeUInt16BE(regs[i]! & 0xffff, 2 + i * 2);
  return b;
}

export function exceptionPdu(fc: number, code: number): Buffer {
  return Buffer.from([fc | 0x80, code]);
}

/** MBAP header + unit id + PDU, for Modbus TCP. */
export function tcpFrame(transaction: number, unit: number, pdu: Uint8Array): Buffer {
  const h = Buffer.alloc(7);
  h.writeUInt16BE(transaction, 0);
  h.writeUInt16BE(0, 2);
  h.writeUInt16BE(pdu.length + 1, 4);
  h[6] = unit;
  return Buffer.concat([h, pdu]);
}
