// An hj212 link: station data loggers connect to the gateway as to a platform and upload HJ 212 packets.
// Each data upload becomes an envelope record; the 9014 answer (when the logger asks for one) goes out
// only after the record is in the outbox, so a logger that re-sends until answered loses nothing.
// Frames with a bad CRC, an unknown MN or a wrong password are counted and never answered. A logger that
// sends garbage is counted, not logged line by line: warnings are rate-limited per connection, and any
// input they echo is cut short.
import { createServer, type Server, type Socket } from 'node:net';
import {
  checkCrc,
  DATA_CNS,
  FrameReader,
  Hj212Error,
  formatDataTime,
  needsAck,
  PacketAssembler,
  parseDataTime,
  parseSegment,
  qnAt,
  replyTo,
  requestFrame,
  toRecord,
  versionOf,
  type Packet,
} from '../../protocol/hj212.ts';
import { decryptSegment, isEncryptedCn, peekHeader } from '../../protocol/hj212-sm4.ts';
import { HistoryBackfill, HistorySlot, type HistoryCounts, type Marks } from './hj212-history.ts';
import { decodeRecordParts, DEFAULT_LIMITS, EnvelopeError, type SampleRecord } from '../../protocol/envelope.ts';
import { listen } from '../../protocol/listen.ts';
import { log } from '../../protocol/log.ts';
import type { Hj212DeviceConfig, Hj212LinkConfig } from '../config.ts';
import type { PushStats } from '../../protocol/messages.ts';

/** A connection that sends nothing for this long is closed (loggers reconnect); a half frame is dropped. */
const IDLE_MS = 5 * 60_000;
const MAX_CONNECTIONS = 1000;
/**
 * Samples remembered per device, to recognise a re-sent packet (same CN and DataTime): a logger re-sends
 * until answered, so what it repeats is recent. A day of minute data, a few days of hourly data.
 */
export const REMEMBERED_SAMPLES = 2048;
/** A connection logs at most one warning line per this many ms; the ones held back are counted into the next. */
export const WARN_EVERY_MS = 10_000;
/** Input echoed into a log line or the status (an MN, a factor code, a parse error) is cut to this length. */
const ECHO_CHARS = 200;

/** `s`, cut to `max` characters, saying how long it was: a logger's bytes never fill a log. */
const clip = (s: string, max = ECHO_CHARS): string =>
  s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;

/**
 * One connection's warnings: the first goes out, then at most one line per WARN_EVERY_MS; what is held
 * back in between is counted by message and the counts ride on the next line (or a last line at close).
 */
class ConnectionWarnings {
  private last = -Infinity;
  private held = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly context: { link: string; peer: string },
  ) {}

  get peer(): string {
    return this.context.peer;
  }

  warn(msg: string, fields: Record<string, unknown>): void {
    const t = this.now();
    if (t - this.last < WARN_EVERY_MS) {
      this.held.set(msg, (this.held.get(msg) ?? 0) + 1);
      return;
    }
    this.last = t;
    log('warn', msg, { ...this.context, ...fields, ...this.takeHeld() });
  }

  /** The connection closed: the count of what was never logged, if anything was held back. */
  close(): void {
    if (this.held.size)
      log('warn', 'hj212 warnings held back on this connection', { ...this.context, ...this.takeHeld() });
  }

  private takeHeld(): { suppressed?: Record<string, number> } {
    if (!this.held.size) return {};
    const suppressed = Object.fromEntries(this.held);
    this.held.clear();
    return { suppressed };
  }
}

export interface Hj212Stats extends PushStats {
  unknownCodes: string[];
  resent: number;
  /** The logger's clock minus the gateway's when last asked (CN 1011), in seconds. */
  clockDriftS?: number;
  /** Times the gateway set the logger's clock (CN 1012) because it had drifted past max_clock_drift_s. */
  clockSet?: number;
  /** Devices with an SM4 key: packets whose CP did not decrypt with it (wrong key, corrupted, or sent plain). */
  decryptFailed?: number;
  /** History fetched from the logger for holes in its series (links with `history.backfill`). */
  history?: HistoryCounts;
}

export class Hj212Listener {
  private server?: Server;
  private byMn: Map<string, Hj212DeviceConfig>;
  private sockets = new Set<Socket>();
  readonly perDevice = new Map<string, Hj212Stats>();
  /** Split packets (PNUM/PNO) waiting for their other parts. */
  private assembler = new PacketAssembler();
  /** Per device: the (CN, sample time) keys of recently stored packets, oldest first. */
  private seen = new Map<string, Set<string>>();
  stats = { connections: 0, frames: 0, accepted: 0, rejected: 0, garbage: 0, unknownMn: 0, ignored: 0 };
  /** Fetches what loggers hold for holes in their series (when the link's config has `history`). */
  readonly history?: HistoryBackfill;
  private slots = new Set<HistorySlot>();

  constructor(
    readonly cfg: Hj212LinkConfig,
    devices: Hj212DeviceConfig[],
    /** Stores records, with marks (the newest time per series) in the same transaction. */
    private store: (records: SampleRecord[], marks?: Marks) => void,
    /** The clock warnings are rate-limited by, and holes are measured to (tests pin it). */
    private readonly now: () => number = Date.now,
    /** Marks an earlier run saved (`hj212/…` keys of the outbox). */
    saved: Record<string, number> = {},
  ) {
    this.byMn = new Map(devices.map((d) => [d.mn, d]));
    for (const d of devices)
      this.perDevice.set(d.id, {
        accepted: 0,
        rejected: 0,
        unknownCodes: [],
        resent: 0,
        ...(d.sm4Key ? { decryptFailed: 0 } : {}),
      });
    this.encrypted = devices.some((d) => d.sm4Key);
    if (cfg.history) {
      const h = new HistoryBackfill(
        cfg.history,
        { name: cfg.name, offsetHours: cfg.offsetHours },
        devices.map((d) => d.id),
        saved,
        (marks) => this.store([], marks),
        now,
      );
      for (const d of devices) this.perDevice.get(d.id)!.history = h.counts.get(d.id)!;
      this.history = h;
    }
  }

  /** Some logger of the link encrypts its CP (SM4): segments may hold any byte. */
  private readonly encrypted: boolean;

  async start(): Promise<number> {
    this.server = createServer((s) => this.onConnection(s));
    this.server.maxConnections = MAX_CONNECTIONS;
    const port = await listen(
      this.server,
      this.cfg.port,
      this.cfg.host,
      `pick another listen port for link ${this.cfg.name}`,
    );
    log('info', 'hj212 link listening', {
      link: this.cfg.name,
      address: `${this.cfg.host}:${port}`,
      loggers: this.byMn.size,
    });
    return port;
  }

  private onConnection(s: Socket): void {
    this.stats.connections++;
    this.sockets.add(s);
    const peer = `${s.remoteAddress}:${s.remotePort}`;
    const warnings = new ConnectionWarnings(this.now, { link: this.cfg.name, peer });
    const reader = new FrameReader({ binary: this.encrypted });
    const send = (b: Buffer) => {
      if (!s.destroyed) s.write(b);
    };
    // Loggers on this connection whose clock was asked for (once a connection).
    const asked = new Set<string>();
    const slot = new HistorySlot(send);
    this.slots.add(slot);
    s.setTimeout(IDLE_MS, () => s.destroy());
    s.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f instanceof Hj212Error) {
          this.garbage(warnings, f);
          continue;
        }
        this.stats.frames++;
        const reply = this.onFrame(warnings, f.segment, f.crc, send, asked, slot);
        if (reply) send(reply);
      }
    });
    s.on('error', () => undefined); // a reset by the logger ends the connection like a close
    s.on('close', () => {
      this.sockets.delete(s);
      this.slots.delete(slot);
      this.history?.closed(slot);
      const e = reader.end();
      if (e) this.garbage(warnings, e);
      warnings.close();
    });
  }

  private garbage(warnings: ConnectionWarnings, e: Hj212Error): void {
    this.stats.garbage++;
    warnings.warn('hj212 bytes dropped', { error: clip(e.message) });
  }

  /** Handles one frame; returns the reply to send, if any. */
  private onFrame(
    warnings: ConnectionWarnings,
    segment: Buffer,
    crc: string,
    send: (b: Buffer) => void,
    asked: Set<string>,
    slot: HistorySlot,
  ): Buffer | null {
    if (this.encrypted) {
      const plain = this.decrypted(warnings, segment, crc);
      if (!plain) return null;
      segment = plain;
    }
    let p: Packet;
    try {
      p = parseSegment(segment.toString('utf8'));
    } catch (e) {
      this.stats.rejected++;
      warnings.warn('hj212 packet refused', { error: clip((e as Error).message) });
      return null;
    }
    const dev = this.byMn.get(p.mn);
    if (!dev) {
      // A configuration hint, already rate-limited by count, so it never waits behind a connection's garbage.
      if (this.stats.unknownMn++ % 100 === 0)
        log('warn', 'hj212 packet from an MN no device of this link has; add it to the gateway config', {
          link: this.cfg.name,
          peer: warnings.peer,
          mn: clip(p.mn),
          cn: p.cn,
        });
      return null;
    }
    const st = this.perDevice.get(dev.id)!;
    const refuse = (why: string) => {
      st.rejected++;
      st.lastError = clip(why);
      this.stats.rejected++;
      warnings.warn('hj212 packet refused', { dev: dev.id, error: clip(why) });
      return null;
    };
    try {
      checkCrc({ segment, crc }, dev.crc);
    } catch (e) {
      return refuse((e as Error).message);
    }
    if (dev.pw !== undefined && p.pw !== dev.pw) return refuse('wrong PW');
    if (p.st !== '91') {
      const pw = p.pw ?? dev.pw;
      this.history?.seen(slot, {
        id: dev.id,
        mn: dev.mn,
        crc: dev.crc,
        st: p.st,
        ...(pw !== undefined ? { pw } : {}),
        edition: versionOf(p),
      });
    }
    // The logger's clock is asked for once a connection, after its first packet has been answered.
    if (this.cfg.maxClockDriftS > 0 && !asked.has(p.mn) && p.st !== '91') {
      asked.add(p.mn);
      const now = Date.now();
      setImmediate(() =>
        send(requestFrame({ qn: qnAt(now), st: p.st, cn: '1011', ...(p.pw ? { pw: p.pw } : {}), mn: p.mn }, dev.crc)),
      );
    }
    this.expireParts();
    if (p.pnum !== undefined && p.pnum > 1) {
      // A split packet is stored, and answered, once its last part is in.
      let whole: Packet | null;
      try {
        whole = this.assembler.add(p);
      } catch (e) {
        return refuse((e as Error).message);
      }
      if (!whole) return null;
      p = whole;
    }
    if (p.cn === '1011' && p.cp.fields.SystemTime) this.onClock(dev, p, st, send);
    if (p.cn === '9011' || p.cn === '9012') {
      this.history?.onAnswer(slot, p);
      this.stats.ignored++; // a logger's answers to our requests
      return null;
    }
    if (!DATA_CNS[p.cn]) {
      // Heartbeats (9015), notices and other commands: answered when asked, not stored.
      this.stats.ignored++;
      return needsAck(p) ? replyTo(p, dev.crc) : null;
    }
    let record: SampleRecord;
    try {
      const c = toRecord(p, dev.id, dev.kind, {
        ...(dev.scale ? { scale: dev.scale } : {}),
        ...(dev.codes ? { codes: dev.codes } : {}),
        offsetHours: this.cfg.offsetHours,
      });
      for (const code of c.unknown.map((u) => clip(u, 64)))
        if (!st.unknownCodes.includes(code) && st.unknownCodes.length < 50) {
          st.unknownCodes.push(code);
          log('warn', 'hj212 factor with no registry key is not stored', { dev: dev.id, code });
        }
      if (Object.keys(c.record.m).length === 0) return refuse('no factor of the registry in the packet');
      // The same checks as any envelope record (time, numbers, field names), so nothing fails later.
      const d = decodeRecordParts(c.record, 'record', Date.now() + DEFAULT_LIMITS.maxFutureMs);
      record = d.record;
      // Implausible readings are left out; the rest of the packet is stored and answered.
      if (d.dropped.length) {
        st.lastError = clip(d.dropped.map((x) => x.message).join('; '));
        warnings.warn('hj212 readings refused', { dev: dev.id, error: st.lastError });
      }
    } catch (e) {
      if (e instanceof Hj212Error || e instanceof EnvelopeError) return refuse(e.message);
      throw e;
    }
    // A re-sent sample is the same sample: answered again, but not stored under a new seq (a replay
    // would overwrite the first point with another seq, and an audit would see a hole). Besides the
    // recent keys: the newest time of the series (kept in the outbox, so also after a restart), and the
    // start of a history window, which is a sample already stored.
    const key = `${p.cn} ${record.ts}`;
    const newest = this.history?.lastOf(dev.id, p.cn);
    const h = this.history?.onData(slot, dev.id, p.cn, record.ts);
    if (this.remembers(dev.id, key) || newest === record.ts || h?.stored) {
      st.resent++;
      return needsAck(p) ? replyTo(p, dev.crc) : null;
    }
    this.store([record], h?.marks);
    this.remember(dev.id, key);
    st.accepted++;
    st.lastTs = Math.max(st.lastTs ?? 0, record.ts);
    this.stats.accepted++;
    return needsAck(p) ? replyTo(p, dev.crc) : null;
  }

  /**
   * The plaintext segment of a packet whose device has an SM4 key and whose CN is encrypted
   * (docs/standards/hj212.md §10); other packets as they came. A CP that does not decrypt to a segment
   * with the right CRC that parses (a wrong key, bytes corrupted on the way, a logger sending plain) is
   * refused and counted against the device: null.
   */
  private decrypted(warnings: ConnectionWarnings, segment: Buffer, crc: string): Buffer | null {
    const head = peekHeader(segment);
    const dev = head.mn !== undefined ? this.byMn.get(head.mn) : undefined;
    if (!dev?.sm4Key || !isEncryptedCn(head.cn ?? '')) return segment;
    let why: string;
    try {
      const plain = decryptSegment(segment, dev.sm4Key);
      checkCrc({ segment: plain, crc }, dev.crc);
      parseSegment(plain.toString('utf8'));
      return plain;
    } catch (e) {
      why = (e as Error).message;
    }
    const st = this.perDevice.get(dev.id)!;
    st.decryptFailed = (st.decryptFailed ?? 0) + 1;
    st.rejected++;
    this.stats.rejected++;
    const plainCrc = (() => {
      try {
        checkCrc({ segment, crc }, dev.crc);
        return true;
      } catch {
        return false;
      }
    })();
    st.lastError = plainCrc
      ? `SM4: CN ${head.cn} came unencrypted, but the device has an sm4_key`
      : `SM4: the CP does not decrypt with the device's sm4_key (wrong key, or corrupted): ${clip(why, 120)}`;
    warnings.warn('hj212 packet refused', { dev: dev.id, error: st.lastError });
    return null;
  }

  /** Split packets whose parts did not all come in time: counted against their device, never stored. */
  private expireParts(): void {
    for (const x of this.assembler.expire()) {
      const dev = this.byMn.get(x.mn);
      const st = dev && this.perDevice.get(dev.id);
      if (!st) continue;
      st.rejected++;
      st.lastError = `split packet incomplete: ${x.have} of ${x.of} parts within 60 s`;
      this.stats.rejected++;
    }
  }

  /**
   * A logger's time (CN 1011, answering our request): its drift is kept for the status, and a clock past
   * max_clock_drift_s is set to the gateway's (CN 1012), since every sample time comes from it.
   */
  private onClock(dev: Hj212DeviceConfig, p: Packet, st: Hj212Stats, send: (b: Buffer) => void): void {
    let drift: number;
    try {
      drift = parseDataTime(p.cp.fields.SystemTime!, this.cfg.offsetHours) - Date.now();
    } catch {
      return;
    }
    st.clockDriftS = Math.round(drift / 1000);
    if (Math.abs(drift) <= this.cfg.maxClockDriftS * 1000) return;
    const now = Date.now();
    const cp = { SystemTime: formatDataTime(now + 500, this.cfg.offsetHours) }; // to the nearest second
    send(requestFrame({ qn: qnAt(now), st: p.st, cn: '1012', ...(p.pw ? { pw: p.pw } : {}), mn: p.mn, cp }, dev.crc));
    st.clockSet = (st.clockSet ?? 0) + 1;
    log('warn', 'hj212 logger clock was off; set to the gateway clock', {
      link: this.cfg.name,
      dev: dev.id,
      drift_s: st.clockDriftS,
    });
  }

  private remembers(dev: string, key: string): boolean {
    return this.seen.get(dev)?.has(key) ?? false;
  }

  /** Keeps the newest REMEMBERED_SAMPLES keys of a device (a Set iterates in insertion order). */
  private remember(dev: string, key: string): void {
    let keys = this.seen.get(dev);
    if (!keys) this.seen.set(dev, (keys = new Set()));
    keys.add(key);
    if (keys.size > REMEMBERED_SAMPLES) keys.delete(keys.values().next().value!);
  }

  async close(): Promise<void> {
    this.history?.stop(this.slots);
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
