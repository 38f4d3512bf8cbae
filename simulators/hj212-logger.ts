// A simulated HJ 212 data logger (数采仪): connects to a platform (here, a gateway's hj212 link), uploads a
// real-time packet (CN 2011, Flag 5: answer wanted) every interval from an instrument model, and re-sends
// each packet until its 9014 answer arrives — up to 3 times 10 s apart on one connection (HJ 212 Table 1),
// then again after every reconnect. Unanswered packets are queued, bounded, and re-sent oldest first.
// Like a real logger it keeps its interval data (minute, hourly, daily) in a bounded memory, whether or
// not it was answered, and uploads what it still holds for a window when the platform asks for it.
import { connect, type Socket } from 'node:net';
import {
  answerFrame,
  encodeFrame,
  EXE_RTN,
  historyWindowOf,
  isHistoryCn,
  QN_RTN,
  FrameReader,
  Hj212Error,
  parseDataTime,
  parseSegment,
  qnAt,
  formatDataTime,
  requestFrame,
  splitUploadSegments,
  uploadSegment,
  type Packet,
} from '../protocol/hj212.ts';
import { encodeEncryptedFrame, isEncryptedCn, type Sm4Form, type Sm4Key } from '../protocol/hj212-sm4.ts';
import { log } from '../protocol/log.ts';
import { toReferenceO2 } from '../standards/emission.ts';
import { aq6Reading, STATUS } from './models/aq6.ts';
import { cemsReading } from './models/cems.ts';
import { BEIJING_OFFSET_MS, DAY, HOUR, MINUTE } from '../protocol/time.ts';
import { rtIntervalFactors } from './hj212-factors.ts';

export type Factors = Record<string, Record<string, string | number>>;

/** A SIM-AQ6 reading as a national station would upload it (ST 22). */
export function airFactors(seed: number, t: Date): Factors {
  const r = aq6Reading(seed, t);
  const flag = (fault: number) =>
    r.status & STATUS.maintenance ? 'M' : r.status & STATUS.calibrating ? 'C' : r.status & fault ? 'D' : 'N';
  const f = (v: number, fl = 'N') => ({ Rtd: v, Flag: fl });
  return {
    a34004: f(r.pm25, flag(STATUS.pmFault)),
    a34002: f(r.pm10, flag(STATUS.pmFault)),
    a21026: f(r.so2, flag(STATUS.gasFault)),
    a21004: f(r.no2, flag(STATUS.gasFault)),
    a21005: f(r.co, flag(STATUS.gasFault)),
    a05024: f(r.o3, flag(STATUS.gasFault)),
    a01001: f(r.temp),
    a01002: f(r.rh),
    a01006: f(r.pressure),
    a01007: f(r.ws),
    a01008: f(r.wd),
  };
}

/** A SIM-CEMS reading with converted values at 6 % O2 (ST 31), as a CEMS logger uploads it. */
export function stackFactors(seed: number, t: Date, excursion: { so2?: number } = {}): Factors {
  const r = { ...cemsReading(seed, t), ...excursion };
  const zs = (v: number) => Math.round(toReferenceO2(v, r.o2, 6) * 100) / 100;
  return {
    a34013: { Rtd: r.dust, ZsRtd: zs(r.dust), Flag: 'N' },
    a21026: { Rtd: r.so2, ZsRtd: zs(r.so2), Flag: 'N' },
    a21002: { Rtd: r.nox, ZsRtd: zs(r.nox), Flag: 'N' },
    a19001: { Rtd: r.o2, Flag: 'N' },
    a01012: { Rtd: r.flue_t, Flag: 'N' },
    a01011: { Rtd: r.flow_v, Flag: 'N' },
    a01013: { Rtd: r.flue_p, Flag: 'N' },
    a01014: { Rtd: r.flue_rh, Flag: 'N' },
  };
}

export interface LoggerOptions {
  host: string;
  port: number;
  mn: string;
  pw?: string;
  st: string;
  intervalMs: number;
  factors: (t: Date) => Factors;
  ackTimeoutMs?: number;
  maxQueued?: number;
  /** Interval data the logger uploads at each boundary (minute, hourly, daily data). */
  aggregates?: Aggregate[];
  /** After the first upload, wait this long before the next and keep that phase (loggers of a network are not in step). */
  phaseMs?: number;
  /** Send each upload as this many packets (PNUM/PNO), as a logger does whose data outgrows one packet. */
  splitParts?: number;
  /**
   * HJ 212-2025 SM4: encrypt the CP of every data upload with this key (in this wire form, raw by
   * default); the uploads then say edition 2025 (Flag 9, split 11).
   */
  sm4?: { key: Sm4Key; form?: Sm4Form };
  /** Days of interval data (2051, 2061, 2031) the logger's memory holds, counted back from its newest of each (default 2). */
  historyDays?: number;
  /** False: a logger that does not answer history requests at all (default true). */
  answersHistory?: boolean;
}

/** One interval's data as the logger keeps it: its start and its factors. */
interface Held {
  t: number;
  factors: Factors;
}
/** Whatever the days, a memory of at most this many intervals per CN. */
const MAX_HELD = 100_000;

/** Interval data: CN 2051 (minute), 2061 (hourly) or 2031 (daily), every `everyMs` on the Beijing clock. */
export interface Aggregate {
  cn: '2051' | '2061' | '2031';
  everyMs: number;
  /** The interval's factors, given its start and length. */
  factors: (from: number, lengthMs: number) => Factors;
}

/** The latest interval boundary at or before `ts`, on the Beijing clock (days start at 00:00 UTC+8). */
export const boundaryOf = (ts: number, everyMs: number): number =>
  Math.floor((ts + BEIJING_OFFSET_MS) / everyMs) * everyMs - BEIJING_OFFSET_MS;

interface Pending {
  qn: string;
  frame: Buffer;
  sentAt: number;
  tries: number;
}

export class Hj212Logger {
  private socket?: Socket;
  private reader = new FrameReader();
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private backoffMs = 500;
  private phase?: NodeJS.Timeout;
  /** The boundary each interval was last uploaded at. */
  private boundaries = new Map<string, number>();
  private lastQn = 0;
  /** Interval data held per CN (2051, 2061, 2031), oldest first. */
  private held = new Map<string, Held[]>();
  stats = {
    sent: 0,
    answered: 0,
    resent: 0,
    dropped: 0,
    connects: 0,
    clockSet: 0,
    /** History requests answered, and the data packets sent in answer. */
    historyRequests: 0,
    historySent: 0,
  };
  /** How far this logger's clock is off (its sample times and the time it reports); a 1012 request sets it. */
  clockOffsetMs = 0;

  constructor(readonly o: LoggerOptions) {}

  start(): this {
    this.open();
    const now = () => Date.now() + this.clockOffsetMs;
    this.sample(now());
    const every = () => {
      this.sample(now());
      this.timer = setInterval(() => this.sample(now()), this.o.intervalMs);
    };
    if (this.o.phaseMs) this.phase = setTimeout(every, this.o.phaseMs);
    else this.timer = setInterval(() => this.sample(now()), this.o.intervalMs);
    return this;
  }

  /** Connects and re-sends what is unanswered, without uploading on a clock (tests upload at pinned times). */
  open(): this {
    this.connect();
    this.retryTimer = setInterval(() => this.retry(), 1000);
    return this;
  }

  /**
   * Queues the real-time upload for the sample at `ts` (the interval's clock tick), and the interval data
   * of every boundary passed since the last sample, and sends them when connected.
   */
  sample(ts: number): void {
    const t = Math.floor(ts / 1000) * 1000;
    this.upload('2011', t, this.o.factors(new Date(t)));
    for (const a of this.o.aggregates ?? []) {
      const b = boundaryOf(t, a.everyMs);
      const last = this.boundaries.get(a.cn);
      this.boundaries.set(a.cn, b);
      // The first sample only sets the clock: a logger started mid-hour has no whole hour to send.
      if (last !== undefined && b > last) this.upload(a.cn, b - a.everyMs, a.factors(b - a.everyMs, a.everyMs));
    }
  }

  /** Queues one data upload (CN 2011, 2051, 2061 or 2031) with DataTime `t`, the sample or interval start. */
  upload(cn: string, t: number, factors: Factors): void {
    if (isHistoryCn(cn)) this.hold(cn, t, factors);
    // QN is the time the packet is made; two uploads made in one millisecond still need two QNs.
    this.lastQn = Math.max(Date.now(), this.lastQn + 1);
    const qn = qnAt(this.lastQn);
    const u = {
      qn,
      st: this.o.st,
      cn,
      pw: this.o.pw ?? '123456',
      mn: this.o.mn,
      flag: this.o.sm4 ? 9 : 5,
      dataTime: formatDataTime(t),
      factors,
    };
    const sm4 = this.o.sm4 && isEncryptedCn(cn) ? this.o.sm4 : undefined;
    const encode = (seg: string) => (sm4 ? encodeEncryptedFrame(seg, sm4.key, { form: sm4.form }) : encodeFrame(seg));
    // The parts of a split upload go together and share its QN: one answer settles them all.
    const frame =
      (this.o.splitParts ?? 1) > 1
        ? Buffer.concat(splitUploadSegments(u, this.o.splitParts!).map(encode))
        : encode(uploadSegment(u));
    this.queue.push({ qn, frame, sentAt: 0, tries: 0 });
    if (this.queue.length > (this.o.maxQueued ?? 10_000)) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.send(this.queue[this.queue.length - 1]!);
  }

  /** Keeps an interval in memory; what is older than the memory's days (or past MAX_HELD) is forgotten. */
  private hold(cn: string, t: number, factors: Factors): void {
    let h = this.held.get(cn);
    if (!h) this.held.set(cn, (h = []));
    // Intervals come in order; one out of order (a test's pinned upload) is put in its place.
    const i = !h.length || h[h.length - 1]!.t < t ? -1 : h.findIndex((x) => x.t >= t);
    if (i < 0) h.push({ t, factors });
    else if (h[i]!.t === t) h[i] = { t, factors };
    else h.splice(i, 0, { t, factors });
    const keepFrom = h[h.length - 1]!.t - (this.o.historyDays ?? 2) * 86_400_000;
    let drop = 0;
    while (drop < h.length && (h[drop]!.t < keepFrom || h.length - drop > MAX_HELD)) drop++;
    if (drop) h.splice(0, drop);
  }

  /** The DataTimes of a CN's intervals the logger still holds, oldest first. */
  heldTimes(cn: string): number[] {
    return (this.held.get(cn) ?? []).map((x) => x.t);
  }

  get unanswered(): number {
    return this.queue.length;
  }

  private send(p: Pending): void {
    if (!this.socket || this.socket.connecting || this.socket.destroyed) return;
    if (p.tries > 0) this.stats.resent++;
    p.sentAt = Date.now();
    p.tries++;
    this.stats.sent++;
    this.socket.write(p.frame);
  }

  /** Packets not answered within the timeout go again, up to 3 tries per connection. */
  private retry(): void {
    const due = Date.now() - (this.o.ackTimeoutMs ?? 10_000);
    for (const p of this.queue) if (p.sentAt && p.sentAt < due && p.tries < 3) this.send(p);
  }

  private connect(): void {
    if (this.stopped) return;
    const s = connect(this.o.port, this.o.host);
    this.socket = s;
    this.reader = new FrameReader();
    s.on('connect', () => {
      this.stats.connects++;
      this.backoffMs = 500;
      // Everything still unanswered goes again, oldest first.
      for (const p of this.queue) {
        p.tries = 0;
        this.send(p);
      }
    });
    s.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) {
        if (f instanceof Hj212Error) continue;
        try {
          const p = parseSegment(f.segment.toString('utf8'));
          if (p.cn === '1011' || p.cn === '1012') {
            this.onTimeRequest(p);
            continue;
          }
          if (isHistoryCn(p.cn) && p.st !== '91') {
            if (this.o.answersHistory !== false) this.onHistoryRequest(p);
            continue;
          }
          if (p.cn !== '9014') continue;
          const i = this.queue.findIndex((q) => q.qn === p.qn);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.stats.answered++;
          }
        } catch {
          /* not an answer we understand */
        }
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.stopped) return;
      setTimeout(() => this.connect(), this.backoffMs);
      if (this.stats.connects > 0 && this.backoffMs === 500)
        log('warn', 'hj212 logger lost its platform; reconnecting', { mn: this.o.mn });
      this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    });
  }

  /**
   * The platform asks for the logger's time (1011) or sets it (1012): answered with 9011 (ready), the
   * time (a 1011 upload), and 9012 (done), as HJ 212-2017 §6.6 has a site answer a request.
   */
  private onTimeRequest(p: Packet): void {
    const write = (b: Buffer) => this.socket?.write(b);
    write(answerFrame(p, '9011', 1));
    if (p.cn === '1011') {
      const cp = { SystemTime: formatDataTime(Date.now() + this.clockOffsetMs) };
      write(
        requestFrame(
          { qn: p.qn ?? '', st: this.o.st, cn: '1011', pw: this.o.pw ?? '123456', mn: this.o.mn, cp },
          'hj212',
          4,
        ),
      );
    } else {
      const t = p.cp.fields.SystemTime;
      if (t) this.clockOffsetMs = parseDataTime(t) - Date.now();
      this.stats.clockSet++;
    }
    write(answerFrame(p, '9012', 1));
  }

  /**
   * The platform asks for interval data between BeginTime and EndTime (CN 2051/2061/2031): 9011, then
   * one packet per interval held in the window (the request's QN and CN, no answer asked), then 9012 —
   * ExeRtn 1, or 100 when it holds nothing there, 3 when the window cannot be read.
   */
  private onHistoryRequest(p: Packet): void {
    const write = (b: Buffer) => this.socket?.write(b);
    write(answerFrame(p, '9011', QN_RTN.ready));
    let w: { begin: number; end: number };
    try {
      w = historyWindowOf(p);
    } catch {
      write(answerFrame(p, '9012', EXE_RTN.conditionError));
      return;
    }
    this.stats.historyRequests++;
    const pw = this.o.pw ?? '123456';
    let sent = 0;
    for (const x of this.held.get(p.cn) ?? []) {
      if (x.t < w.begin || x.t > w.end) continue;
      // No answer asked (Flag A = 0), in the logger's edition; encrypted like its uploads where it encrypts.
      const u = { qn: p.qn ?? qnAt(Date.now()), st: this.o.st, cn: p.cn, pw, mn: this.o.mn, flag: this.o.sm4 ? 8 : 4 };
      const seg = uploadSegment({ ...u, dataTime: formatDataTime(x.t), factors: x.factors });
      const sm4 = this.o.sm4;
      write(sm4 ? encodeEncryptedFrame(seg, sm4.key, { form: sm4.form }) : encodeFrame(seg));
      sent++;
    }
    this.stats.historySent += sent;
    write(answerFrame(p, '9012', sent ? EXE_RTN.success : EXE_RTN.noData));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.phase);
    clearInterval(this.timer);
    clearInterval(this.retryTimer);
    this.socket?.destroy();
  }
}

export interface LoggerSite {
  id: string;
  kind: 'air.station' | 'stack.cems';
  mn: string;
  st: string;
  factors: (t: Date) => Factors;
  /** Interval data uploaded at its boundaries, worked out from the real-time factors. */
  aggregates: Aggregate[];
}

/** Interval data from a site's real-time factors, sampled every minute (every 5 minutes over a day). */
function aggregatesOf(factors: (t: Date) => Factors, intervals: [Aggregate['cn'], number][]): Aggregate[] {
  return intervals.map(([cn, everyMs]) => ({
    cn,
    everyMs,
    factors: (from, len) => rtIntervalFactors(factors, from, len, Math.max(MINUTE, len / 288)),
  }));
}

/**
 * National air stations (ST 22: hourly and daily data) and smokestacks (ST 31: 10-minute, hourly and
 * daily data) behind HJ 212 loggers, each a pure function of its seed.
 */
export function loggerSites(stations: number, cems: number, seed = 3000): LoggerSite[] {
  const mn = (s: number) => `150100A0${s.toString(16).toUpperCase().padStart(16, '0')}`;
  return [
    ...Array.from({ length: stations }, (_, i): LoggerSite => {
      const factors = (t: Date) => airFactors(seed + i, t);
      return {
        id: `st-${String(seed + i).padStart(4, '0')}`,
        kind: 'air.station',
        mn: mn(seed + i),
        st: '22',
        factors,
        aggregates: aggregatesOf(factors, [
          ['2061', HOUR],
          ['2031', DAY],
        ]),
      };
    }),
    ...Array.from({ length: cems }, (_, i): LoggerSite => {
      const factors = (t: Date) => stackFactors(seed + stations + i, t);
      return {
        id: `cems-h${String(seed + stations + i).padStart(4, '0')}`,
        kind: 'stack.cems',
        mn: mn(seed + stations + i),
        st: '31',
        factors,
        aggregates: aggregatesOf(factors, [
          ['2051', 10 * MINUTE],
          ['2061', HOUR],
          ['2031', DAY],
        ]),
      };
    }),
  ];
}
