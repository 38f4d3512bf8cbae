// Simulated Modbus device servers: several unit ids behind one port, like an RS-485 bus behind a serial
// device server. One bus answers; three framings carry it: Modbus TCP (MBAP), RTU frames over TCP (a
// device server in transparent mode) and RTU on a serial line (a pty pair made by socat in tests).
// Hand-written rather than modbus-serial's servers so that each unit is its own register bank and
// faults (a silent unit, a slow unit) can be injected per unit.
import net from 'node:net';
import { SerialPort } from 'serialport';
import {
  crc16modbus,
  EXC_GATEWAY_NO_RESPONSE,
  EXC_ILLEGAL_ADDRESS,
  EXC_ILLEGAL_FUNCTION,
  EXC_ILLEGAL_VALUE,
  exceptionPdu,
  FC_READ_HOLDING,
  FC_READ_INPUT,
  readResponsePdu,
  rtuFrame,
  tcpFrame,
} from '../protocol/modbus-frame.ts';

export interface SimUnit {
  /** Register image at time `now`; an absent address is an illegal-address exception. */
  registers(fc: number, now: Date): Map<number, number>;
  /** Fault injection: a silent unit never answers; a slow one answers late. */
  silent?: boolean;
  delayMs?: number;
  /**
   * More faults a unit can have: `exception` answers every read with exception 04 (server device
   * failure), `garbage` with a response whose byte count does not match, `swapped` with the words of
   * each register pair in the wrong order (a CDAB device read as ABCD).
   */
  fault?: 'exception' | 'garbage' | 'swapped';
}

/** Exception 04: the device failed while answering. */
const EXC_SERVER_DEVICE_FAILURE = 0x04;

export interface Served {
  port: number;
  unit: number;
  fc: number;
  addr: number;
  at: number;
  regs: number[];
}

export type Framing = 'tcp' | 'rtu';

/** The units of a bus and how they answer a request PDU. */
export class SimBus {
  readonly units = new Map<number, SimUnit>();
  /** Called for every answered read, so tests know exactly what each device said and when. */
  onServe?: (s: Served) => void;
  requests = 0;
  /** Requests by unit id, answered or not (a silent unit's are counted too). */
  readonly requestsByUnit = new Map<number, number>();
  /** Requests received and not yet answered, and the most there ever were (a master should keep it at 1). */
  pending = 0;
  maxPending = 0;

  /**
   * Answers one request. `reply` gets the response PDU, or nothing for a unit that stays silent. On a
   * serial line an absent unit is silent too; a Modbus TCP gateway answers for it (exception 0x0B).
   */
  request(
    unitId: number,
    pdu: Buffer,
    reply: (pdu: Buffer) => void,
    o: { port: number; absentAnswers: boolean },
  ): void {
    this.requests++;
    this.requestsByUnit.set(unitId, (this.requestsByUnit.get(unitId) ?? 0) + 1);
    const unit = this.units.get(unitId);
    const fc = pdu[0] ?? 0;
    if (!unit) {
      if (o.absentAnswers) reply(exceptionPdu(fc, EXC_GATEWAY_NO_RESPONSE));
      return;
    }
    if (unit.silent) return;
    if (unit.fault === 'exception') return reply(exceptionPdu(fc, EXC_SERVER_DEVICE_FAILURE));
    if (fc !== FC_READ_HOLDING && fc !== FC_READ_INPUT) return reply(exceptionPdu(fc, EXC_ILLEGAL_FUNCTION));
    if (pdu.length !== 5) return reply(exceptionPdu(fc, EXC_ILLEGAL_VALUE));
    const addr = pdu.readUInt16BE(1);
    const count = pdu.readUInt16BE(3);
    if (count < 1 || count > 125) return reply(exceptionPdu(fc, EXC_ILLEGAL_VALUE));
    const now = new Date();
    const image = unit.registers(fc, now);
    const regs: number[] = [];
    for (let a = addr; a < addr + count; a++) {
      const v = image.get(a);
      if (v === undefined) return reply(exceptionPdu(fc, EXC_ILLEGAL_ADDRESS));
      regs.push(v);
    }
    if (unit.fault === 'swapped')
      for (let i = 0; i + 1 < regs.length; i += 2) [regs[i], regs[i + 1]] = [regs[i + 1]!, regs[i]!];
    const send = () => {
      this.pending--;
      this.onServe?.({ port: o.port, unit: unitId, fc, addr, at: now.getTime(), regs });
      const res = readResponsePdu(fc, regs);
      if (unit.fault === 'garbage') res[1] = (res[1]! + 2) & 0xff; // a byte count that does not match
      reply(res);
    };
    this.maxPending = Math.max(this.maxPending, ++this.pending);
    if (unit.delayMs) setTimeout(send, unit.delayMs);
    else send();
  }
}

/**
 * Cuts RTU read requests (unit, FC, address, count, CRC: 8 bytes) out of a byte stream. A byte that does
 * not start a request with a valid CRC is noise on the line and skipped.
 */
export class RtuRequestReader {
  private buf = Buffer.alloc(0);
  skipped = 0;

  push(chunk: Buffer): { unit: number; pdu: Buffer }[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: { unit: number; pdu: Buffer }[] = [];
    while (this.buf.length >= 8) {
      const crc = this.buf.readUInt16LE(6);
      if (crc16modbus(this.buf.subarray(0, 6)) === crc) {
        out.push({ unit: this.buf[0]!, pdu: Buffer.from(this.buf.subarray(1, 6)) });
        this.buf = this.buf.subarray(8);
      } else {
        this.buf = this.buf.subarray(1);
        this.skipped++;
      }
    }
    return out;
  }
}

/** A TCP server carrying the bus as Modbus TCP or as RTU frames. */
export class ModbusTcpSimServer extends SimBus {
  private server = net.createServer((s) => this.onConnection(s));
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly framing: Framing = 'tcp') {
    super();
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    const o = { port: this.port, absentAnswers: this.framing === 'tcp' };
    if (this.framing === 'rtu') {
      const reader = new RtuRequestReader();
      socket.on('data', (chunk: Buffer) => {
        for (const r of reader.push(chunk))
          this.request(
            r.unit,
            r.pdu,
            (pdu) => {
              if (!socket.destroyed) socket.write(rtuFrame(r.unit, pdu));
            },
            o,
          );
      });
      return;
    }
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (len < 2 || len > 254) {
          socket.destroy();
          return;
        } // not Modbus TCP: drop the connection
        if (buf.length < 6 + len) break;
        const frame = buf.subarray(0, 6 + len);
        buf = buf.subarray(6 + len);
        const tx = frame.readUInt16BE(0);
        const unit = frame[6]!;
        this.request(
          unit,
          frame.subarray(7),
          (pdu) => {
            if (!socket.destroyed) socket.write(tcpFrame(tx, unit, pdu));
          },
          o,
        );
      }
    });
  }
}

/** The bus as RTU slaves on a serial line (one end of a pty pair, or a real port). */
export class ModbusSerialSim extends SimBus {
  private port?: SerialPort;

  async open(path: string, baudRate = 9600): Promise<void> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.port = port;
    const reader = new RtuRequestReader();
    const o = { port: 0, absentAnswers: false };
    port.on('data', (chunk: Buffer) => {
      for (const r of reader.push(chunk))
        this.request(
          r.unit,
          r.pdu,
          (pdu) => {
            if (port.isOpen) port.write(rtuFrame(r.unit, pdu));
          },
          o,
        );
    });
    port.on('error', () => undefined);
  }

  async close(): Promise<void> {
    const p = this.port;
    if (!p?.isOpen) return;
    await new Promise<void>((resolve) => p.close(() => resolve()));
  }
}
