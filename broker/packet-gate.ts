// A size limit on MQTT packets, enforced as bytes arrive. Aedes' parser buffers a whole packet before it
// looks at it, so a client announcing 250 MB got 250 MB of the broker's memory; the gate reads each fixed
// header's remaining length and closes the connection before a packet over its limit is buffered.
import { Duplex } from 'node:stream';

export type GateRefusal = { kind: 'oversize'; size: number; limit: number } | { kind: 'malformed' };

export interface ScanResult {
  /** Bytes of the chunk that may pass. */
  end: number;
  refusal?: GateRefusal;
  /** Stopped before the next packet, as asked. */
  held?: boolean;
}

const TYPE = 0;
const LENGTH = 1;
const BODY = 2;

/** Follows MQTT framing byte by byte: only the fixed headers are read, bodies are skipped. */
export class FrameScanner {
  private state = TYPE;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;
  /** Packets whose size has been read. */
  packets = 0;

  /**
   * Scans `chunk` from `from`. Each packet, fixed header included, must fit `limit`; with `hold`, stops
   * before the first byte of any packet after the first.
   */
  scan(chunk: Buffer, from: number, limit: number, hold: boolean): ScanResult {
    let i = from;
    while (i < chunk.length) {
      if (this.state === TYPE) {
        if (hold && this.packets > 0) return { end: i, held: true };
        this.startHeader();
        i++;
      } else if (this.state === LENGTH) {
        const refusal = this.lengthByte(chunk[i++]!, limit);
        if (refusal) return { end: i, refusal };
      } else {
        const n = Math.min(this.left, chunk.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = TYPE;
      }
    }
    return { end: i };
  }

  private startHeader(): void {
    this.state = LENGTH;
    this.length = 0;
    this.multiplier = 1;
    this.lengthBytes = 0;
  }

  private lengthByte(b: number, limit: number): GateRefusal | undefined {
    this.length += (b & 0x7f) * this.multiplier;
    this.multiplier *= 128;
    this.lengthBytes++;
    if (b & 0x80) return this.lengthBytes === 4 ? { kind: 'malformed' } : undefined;
    const size = 1 + this.lengthBytes + this.length;
    if (size > limit) return { kind: 'oversize', size, limit };
    this.packets++;
    this.left = this.length;
    this.state = this.left > 0 ? BODY : TYPE;
    return undefined;
  }
}

/**
 * The connection as Aedes sees it. Until `admit` (a successful login) only the first packet, the CONNECT,
 * passes, within `connectLimit`; what follows waits in the socket, then is judged by the role's limit.
 */
export class PacketGate extends Duplex {
  private scanner = new FrameScanner();
  private admitted = false;
  private held: Buffer | null = null;
  private full = false;
  /** Who logged in on this connection, for logs. */
  who?: string;

  constructor(
    private inner: Duplex,
    /** The peer's address, for per-address limits and logs. */
    readonly address: string,
    private limit: number,
    private onRefuse: (r: GateRefusal) => void,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (c: Buffer) => this.onData(c));
    inner.once('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
    inner.once('close', () => this.destroy());
  }

  /** After a login: later packets get the role's limit, and what waited flows on. */
  admit(limit: number, who: string): void {
    this.who = who;
    this.limit = limit;
    this.admitted = true;
    const held = this.held;
    this.held = null;
    if (held) this.onData(held);
    if (!this.held && !this.full && !this.destroyed) this.inner.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.destroyed) return;
    const r = this.scanner.scan(chunk, 0, this.limit, !this.admitted);
    if (r.refusal) {
      this.onRefuse(r.refusal);
      this.destroy();
      return;
    }
    if (r.end > 0) this.full = !this.push(r.end === chunk.length ? chunk : chunk.subarray(0, r.end));
    if (r.held) this.held = chunk.subarray(r.end);
    if (this.held || this.full) this.inner.pause();
  }

  override _read(): void {
    this.full = false;
    if (!this.held) this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.inner.write(chunk)) done();
    else this.inner.once('drain', () => done());
  }

  // mqtt-packet writes a packet in several pieces while corked: one socket write for them all.
  override _writev(chunks: { chunk: Buffer }[], done: (e?: Error | null) => void): void {
    this.inner.cork();
    let ok = true;
    for (const c of chunks) ok = this.inner.write(c.chunk);
    this.inner.uncork();
    if (ok) done();
    else this.inner.once('drain', () => done());
  }

  override _final(done: (e?: Error | null) => void): void {
    this.inner.end();
    done();
  }

  override _destroy(e: Error | null, done: (e?: Error | null) => void): void {
    this.inner.destroy();
    done(e);
  }
}
