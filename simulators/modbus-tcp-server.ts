// A Modbus TCP server with several unit ids behind one socket, like an RS-485 bus behind a serial
// device server. Hand-written rather than modbus-serial's ServerTCP so that each unit is its own
// register bank and faults (a silent unit, a slow unit) can be injected per unit.
import net from 'node:net';
import {
  EXC_GATEWAY_NO_RESPONSE, EXC_ILLEGAL_ADDRESS, EXC_ILLEGAL_FUNCTION, EXC_ILLEGAL_VALUE,
  exceptionPdu, FC_READ_HOLDING, FC_READ_INPUT, readResponsePdu, tcpFrame,
} from '../protocol/modbus-frame.ts';

export interface SimUnit {
  /** Register image at time `now`; an absent address is an illegal-address exception. */
  registers(fc: number, now: Date): Map<number, number>;
  /** Fault injection: a silent unit never answers; a slow one answers late. */
  silent?: boolean;
  delayMs?: number;
}

export interface Served { port: number; unit: number; fc: number; addr: number; at: number; regs: number[] }

export class ModbusTcpSimServer {
  private server = net.createServer((s) => this.onConnection(s));
  private sockets = new Set<net.Socket>();
  readonly units = new Map<number, SimUnit>();
  /** Called for every answered read, so tests know exactly what each device said and when. */
  onServe?: (s: Served) => void;
  requests = 0;
  port = 0;
  /** Requests received and not yet answered, and the most there ever were (a master should keep it at 1). */
  pending = 0;
  maxPending = 0;

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
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (len < 2 || len > 254) { socket.destroy(); return; } // not Modbus TCP: drop the connection
        if (buf.length < 6 + len) break;
        const frame = buf.subarray(0, 6 + len);
        buf = buf.subarray(6 + len);
        this.onRequest(socket, frame.readUInt16BE(0), frame[6]!, frame.subarray(7));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private onRequest(socket: net.Socket, tx: number, unitId: number, pdu: Buffer): void {
    this.requests++;
    const unit = this.units.get(unitId);
    const fc = pdu[0] ?? 0;
    const reply = (body: Buffer) => { if (!socket.destroyed) socket.write(tcpFrame(tx, unitId, body)); };
    if (!unit) return reply(exceptionPdu(fc, EXC_GATEWAY_NO_RESPONSE));
    if (unit.silent) return;
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
    const send = () => {
      this.pending--;
      this.onServe?.({ port: this.port, unit: unitId, fc, addr, at: now.getTime(), regs });
      reply(readResponsePdu(fc, regs));
    };
    this.maxPending = Math.max(this.maxPending, ++this.pending);
    if (unit.delayMs) setTimeout(send, unit.delayMs); else send();
  }
}
