// Re-upload of a logger's history (HJ 212-2017 取历史数据): when a logger's minute, hourly or daily series
// has a hole — it reconnects after a cut, or an upload skips intervals — the hj212 link asks the logger
// for the missing window (CN 2051/2061/2031 with BeginTime/EndTime), one request per connection at a
// time, with a timeout and a bounded number of tries. The answered packets take the link's normal path.
// The newest stored time per device and CN, and the windows still to fetch, are kept in the outbox's
// database, so they survive a restart of the gateway.
import {
  answerCode,
  EXE_RTN,
  HISTORY_CNS,
  historyRequestFrame,
  isHistoryCn,
  qnAt,
  QN_RTN,
  type CrcVariant,
  type HistoryCn,
  type Packet,
} from '../../protocol/hj212.ts';
import { log } from '../../protocol/log.ts';
import { DAY, HOUR, MINUTE } from '../../protocol/time.ts';
import type { Hj212HistoryConfig } from '../config.ts';

/** Marks to set (a number) or delete (null) in the outbox's database, with the records they go with. */
export type Marks = Record<string, number | null>;

/** A window of one CN's interval data to fetch, DataTimes `begin`…`end` (both included). */
export interface HistoryWindow {
  cn: HistoryCn;
  begin: number;
  end: number;
  /** Requests sent for it so far. */
  tries: number;
  /** `begin` is a sample already stored (the newest one when the hole was found): its copy is not stored again. */
  beginStored?: boolean;
  /** Not asked for again before this time (Date.now() ms): a logger that could not execute it gets a pause. */
  notBefore?: number;
}

/** The interval one upload of a CN covers. Minute data comes every MinInterval minutes (the link's config). */
export function intervalOf(cn: HistoryCn, minuteIntervalMs: number): number {
  return cn === '2051' ? minuteIntervalMs : cn === '2061' ? HOUR : DAY;
}

/**
 * The hole a live upload at `ts` reveals after the newest stored sample `last`: the intervals in
 * between never came. BeginTime is `last` itself (the standard's window includes both ends; that
 * sample comes back and is recognised as stored). Cut to the newest `maxWindowMs`.
 */
export function gapBeforeUpload(
  last: number | undefined,
  ts: number,
  intervalMs: number,
  maxWindowMs: number,
): { begin: number; end: number; cut: boolean } | null {
  if (last === undefined || ts <= last + intervalMs) return null;
  return clamp(last, ts, maxWindowMs);
}

/**
 * The hole a reconnecting logger may have left: from the newest stored sample to now, when at least
 * one whole interval after it has ended since (the interval starting at `last + interval` is uploaded
 * at `last + 2 × interval`).
 */
export function gapSinceLast(
  last: number | undefined,
  now: number,
  intervalMs: number,
  maxWindowMs: number,
): { begin: number; end: number; cut: boolean } | null {
  if (last === undefined || now < last + 2 * intervalMs) return null;
  return clamp(last, now, maxWindowMs);
}

function clamp(begin: number, end: number, maxWindowMs: number): { begin: number; end: number; cut: boolean } {
  return begin < end - maxWindowMs ? { begin: end - maxWindowMs, end, cut: true } : { begin, end, cut: false };
}

/**
 * Adds a hole to a device's waiting windows: windows of its CN that overlap or touch it are joined with
 * it (their hull, cut to the newest max window); others are kept apart, so a hole long ago and one just
 * now are not stretched into one window that would be cut to the newer.
 */
export function mergeWindow(queue: HistoryWindow[], w: HistoryWindow, maxWindowMs: number): HistoryWindow[] {
  const joins = (q: HistoryWindow) => q.cn === w.cn && q.begin <= w.end && w.begin <= q.end;
  const parts = [w, ...queue.filter(joins)];
  if (parts.length === 1) return [...queue, w];
  const end = Math.max(...parts.map((x) => x.end));
  const begin = Math.max(Math.min(...parts.map((x) => x.begin)), end - maxWindowMs);
  const merged: HistoryWindow = { cn: w.cn, begin, end, tries: 0 };
  const notBefore = Math.max(...parts.map((x) => x.notBefore ?? 0));
  if (notBefore) merged.notBefore = notBefore;
  if (parts.some((x) => x.begin === begin && x.beginStored)) merged.beginStored = true;
  const at = queue.findIndex(joins);
  return [...queue.slice(0, at), merged, ...queue.slice(at).filter((q) => !joins(q))];
}

/** What the link knows of a device for a request: how to address it, as its own packets do. */
export interface HistoryDevice {
  id: string;
  mn: string;
  crc: CrcVariant;
  st: string;
  pw?: string;
  /** The edition bits of its packets (answers go back in its edition). */
  edition: number;
}

/** Per device, in the gateway's status (`pushed.{dev}.history`). */
export interface HistoryCounts {
  /** Requests sent (tries included). */
  requested: number;
  /** Data packets that came in answer. */
  received: number;
  /** Requests not answered in time. */
  timedOut: number;
  /** Windows given up: refused by the logger, or still unanswered after every try. */
  failed: number;
  /** Windows answered to the end (9012). */
  done: number;
  /** Windows waiting or being fetched now. */
  pending: number;
}

interface InFlight {
  dev: HistoryDevice;
  w: HistoryWindow;
  qn: string;
  timer: NodeJS.Timeout | undefined;
  received: number;
}

/** One logger connection: at most one request in flight on it. */
export class HistorySlot {
  devices = new Map<string, HistoryDevice>();
  inFlight?: InFlight;
  settle?: NodeJS.Timeout;
  /** Wakes the connection when a paused window may be asked for again. */
  wake?: NodeJS.Timeout;
  /** When the first packet came: the settling ends SETTLE_MAX_MS after it at the latest. */
  firstAt = 0;
  /** The check for holes since the logger was last seen has run on this connection. */
  checked = false;
  closed = false;
  constructor(readonly send: (b: Buffer) => void) {}
}

/** Windows waiting per device, at most: past it the oldest is given up (counted as failed, logged). */
export const MAX_WINDOWS = 16;

/**
 * A reconnected logger first re-sends what it still has queued: its holes are computed once it has been
 * quiet for SETTLE_MS (no packet), or SETTLE_MAX_MS after its first packet, whichever comes first, so a
 * backlog still streaming in is not asked for a second time.
 */
export const SETTLE_MS = 2000;
export const SETTLE_MAX_MS = 30_000;

const iso = (t: number) => new Date(t).toISOString();
/** Outbox marks: `hj212/{dev}/last/{cn}` the newest stored DataTime; `hj212/{dev}/gap/{cn}/{begin}` = end, a window to fetch. */
const lastKey = (dev: string, cn: string) => `hj212/${dev}/last/${cn}`;
const gapKey = (dev: string, w: HistoryWindow) => `hj212/${dev}/gap/${w.cn}/${w.begin}`;

export class HistoryBackfill {
  private last = new Map<string, number>();
  /** Per device, the windows waiting (those of one CN never overlap). */
  private queues = new Map<string, HistoryWindow[]>();
  /** Per device and CN, the window being fetched now. */
  private active = new Map<string, HistoryWindow>();
  /** Per device, the window marks saved last (to delete those no longer true). */
  private savedGaps = new Map<string, Set<string>>();
  /**
   * Per device, the connection it was last seen on: its requests go there only. A logger that reconnects
   * may leave its old connection half-open until the idle timeout, and a request sent there is lost.
   */
  private home = new Map<string, HistorySlot>();
  private stopped = false;
  readonly counts = new Map<string, HistoryCounts>();
  private lastQn = 0;
  /** Link totals, for the metrics. */
  totals = { requested: 0, received: 0, timedOut: 0, failed: 0, done: 0 };

  constructor(
    readonly cfg: Hj212HistoryConfig,
    private readonly link: { name: string; offsetHours: number },
    devices: string[],
    /** Marks saved by an earlier run (`hj212/…` keys of the outbox's database). */
    saved: Record<string, number>,
    /** Saves marks at once (windows to fetch); the newest times go with their records instead. */
    private readonly save: (marks: Marks) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const d of devices)
      this.counts.set(d, { requested: 0, received: 0, timedOut: 0, failed: 0, done: 0, pending: 0 });
    for (const [k, v] of Object.entries(saved)) {
      const [, dev, what, cn, begin] = k.split('/');
      if (!dev || !this.counts.has(dev) || !cn || !isHistoryCn(cn)) continue;
      if (what === 'last') this.last.set(`${dev} ${cn}`, v);
      if (what !== 'gap' || !Number.isFinite(Number(begin))) continue;
      this.queue(dev, { cn, begin: Number(begin), end: v, tries: 0 });
      let keys = this.savedGaps.get(dev);
      if (!keys) this.savedGaps.set(dev, (keys = new Set()));
      keys.add(k);
    }
  }

  /** The newest stored DataTime of a device's CN, if any. */
  lastOf(dev: string, cn: string): number | undefined {
    return this.last.get(`${dev} ${cn}`);
  }

  private intervalOf(cn: HistoryCn): number {
    return intervalOf(cn, this.cfg.minuteIntervalMin * MINUTE);
  }

  /**
   * A device's packet arrived on this connection: once the connection has settled (SETTLE_MS), what each
   * of its loggers missed since it was last seen is checked for.
   */
  seen(slot: HistorySlot, dev: HistoryDevice): void {
    const known = slot.devices.has(dev.id);
    slot.devices.set(dev.id, dev);
    this.home.set(dev.id, slot);
    if (!this.cfg.backfill) return;
    if (slot.checked) {
      if (known) return;
      this.checkSince(dev.id); // another logger behind the same connection
      this.pump(slot);
      return;
    }
    const t = Date.now();
    slot.firstAt ||= t;
    clearTimeout(slot.settle);
    slot.settle = setTimeout(
      () => {
        slot.settle = undefined;
        slot.checked = true;
        for (const d of slot.devices.values()) this.checkSince(d.id);
        this.pump(slot);
      },
      Math.min(SETTLE_MS, Math.max(0, slot.firstAt + SETTLE_MAX_MS - t)),
    );
  }

  /** The holes since each CN's newest stored sample, now that the logger is back. */
  private checkSince(dev: string): void {
    for (const cn of HISTORY_CNS) {
      const g = gapSinceLast(this.lastOf(dev, cn), this.now(), this.intervalOf(cn), this.cfg.maxWindowMs);
      if (g) this.found(dev, cn, g, 'reconnect');
    }
  }

  /**
   * A data packet of interval data, about to be stored or recognised: whether it answers the request in
   * flight (then it is counted and the timeout starts again), else whether it reveals a hole; and the
   * mark that moves the CN's newest time (saved with the record).
   */
  onData(slot: HistorySlot, dev: string, cn: string, ts: number): { answer: boolean; stored: boolean; marks: Marks } {
    if (!isHistoryCn(cn)) return { answer: false, stored: false, marks: {} };
    const f = slot.inFlight;
    const answer = f !== undefined && f.dev.id === dev && f.w.cn === cn && ts >= f.w.begin && ts <= f.w.end;
    const stored = answer && ts === f.w.begin && f.w.beginStored === true;
    if (answer) {
      f.received++;
      this.counts.get(dev)!.received++;
      this.totals.received++;
      this.arm(slot);
    } else if (this.cfg.backfill) {
      const g = gapBeforeUpload(this.lastOf(dev, cn), ts, this.intervalOf(cn), this.cfg.maxWindowMs);
      if (g) {
        this.found(dev, cn, g, 'skip');
        // Asked for once the packet that revealed it has been stored and answered (a connection that has
        // settled is pumped by nothing else until a request ends).
        queueMicrotask(() => this.pumpFor(dev));
      }
    }
    const last = this.lastOf(dev, cn);
    if (last !== undefined && ts <= last) return { answer, stored, marks: {} };
    this.last.set(`${dev} ${cn}`, ts);
    return { answer, stored, marks: { [lastKey(dev, cn)]: ts } };
  }

  private found(dev: string, cn: HistoryCn, g: { begin: number; end: number; cut: boolean }, seen: string): void {
    if (g.cut)
      log('warn', 'hj212 history: a hole longer than max_window_h; only its newest part is asked for', {
        link: this.link.name,
        dev,
        cn,
        from: iso(g.begin),
        to: iso(g.end),
      });
    const w = this.queue(dev, { cn, begin: g.begin, end: g.end, tries: 0, ...(g.cut ? {} : { beginStored: true }) });
    this.persist(dev);
    log('info', 'hj212 history: a hole in the series, to be fetched from the logger', {
      link: this.link.name,
      dev,
      cn,
      from: iso(w.begin),
      to: iso(w.end),
      seen,
    });
  }

  /** Adds a window to a device's queue (joined with those it touches); returns the window it ended up in. */
  private queue(dev: string, w: HistoryWindow, front = false): HistoryWindow {
    const before = this.queues.get(dev) ?? [];
    let q = mergeWindow(front ? [] : before, w, this.cfg.maxWindowMs);
    if (front) for (const x of before) q = mergeWindow(q, x, this.cfg.maxWindowMs);
    while (q.length > MAX_WINDOWS) {
      const oldest = q.reduce((a, b) => (b.end < a.end ? b : a));
      q = q.filter((x) => x !== oldest);
      this.dropped(dev, oldest, `more than ${MAX_WINDOWS} windows waiting`);
    }
    this.queues.set(dev, q);
    this.counts.get(dev)!.pending = this.pendingOf(dev);
    return q.find((x) => x.cn === w.cn && x.begin <= w.end && w.begin <= x.end) ?? w;
  }

  private dropped(dev: string, w: HistoryWindow, why: string): void {
    this.counts.get(dev)!.failed++;
    this.totals.failed++;
    log('warn', 'hj212 history: window given up; what the logger held for it is not fetched', {
      link: this.link.name,
      dev,
      cn: w.cn,
      from: iso(w.begin),
      to: iso(w.end),
      tries: w.tries,
      reason: why,
    });
  }

  private pendingOf(dev: string): number {
    const active = HISTORY_CNS.filter((cn) => this.active.has(`${dev} ${cn}`)).length;
    return (this.queues.get(dev)?.length ?? 0) + active;
  }

  /** Saves the windows still to fetch of a device (waiting and in flight), and deletes the marks of those settled. */
  private persist(dev: string): void {
    const ws = [...(this.queues.get(dev) ?? []), ...HISTORY_CNS.flatMap((cn) => this.active.get(`${dev} ${cn}`) ?? [])];
    const now = new Set(ws.map((w) => gapKey(dev, w)));
    const marks: Marks = {};
    for (const k of this.savedGaps.get(dev) ?? []) if (!now.has(k)) marks[k] = null;
    for (const w of ws) marks[gapKey(dev, w)] = w.end;
    this.savedGaps.set(dev, now);
    this.save(marks);
    this.counts.get(dev)!.pending = this.pendingOf(dev);
  }

  /** Sends the next request on this connection when none is in flight. */
  pump(slot: HistorySlot): void {
    if (slot.inFlight || slot.closed || slot.settle || this.stopped || !this.cfg.backfill) return;
    clearTimeout(slot.wake);
    const t = Date.now();
    let wakeAt = Infinity;
    for (const dev of slot.devices.values()) {
      if (this.home.get(dev.id) !== slot) continue; // the logger has moved to a newer connection
      const q = this.queues.get(dev.id) ?? [];
      // A CN being fetched on another connection (a logger that reconnected) waits for it.
      const i = q.findIndex((w) => !this.active.has(`${dev.id} ${w.cn}`) && (w.notBefore ?? 0) <= t);
      for (const w of q) if ((w.notBefore ?? 0) > t) wakeAt = Math.min(wakeAt, w.notBefore!);
      if (i < 0) continue;
      const [w] = q.splice(i, 1);
      this.request(slot, dev, w!);
      return;
    }
    if (wakeAt < Infinity) slot.wake = setTimeout(() => this.pump(slot), wakeAt - t);
  }

  /** Pumps the connection a device was last seen on, if it is still open. */
  private pumpFor(dev: string): void {
    const slot = this.home.get(dev);
    if (slot) this.pump(slot);
  }

  private request(slot: HistorySlot, dev: HistoryDevice, w: HistoryWindow): void {
    w.tries++;
    this.lastQn = Math.max(this.now(), this.lastQn + 1);
    const qn = qnAt(this.lastQn, this.link.offsetHours);
    slot.inFlight = { dev, w, qn, timer: undefined, received: 0 };
    this.active.set(`${dev.id} ${w.cn}`, w);
    this.arm(slot);
    this.counts.get(dev.id)!.requested++;
    this.totals.requested++;
    log('info', 'hj212 history requested', {
      link: this.link.name,
      dev: dev.id,
      cn: w.cn,
      from: iso(w.begin),
      to: iso(w.end),
      try: w.tries,
    });
    const pw = dev.pw !== undefined ? { pw: dev.pw } : {};
    slot.send(
      historyRequestFrame(
        { qn, st: dev.st, cn: w.cn, ...pw, mn: dev.mn, begin: w.begin, end: w.end },
        { crc: dev.crc, offsetHours: this.link.offsetHours, flag: (dev.edition << 2) | 1 },
      ),
    );
  }

  /** (Re)starts the in-flight request's timeout: it runs from the last sign of life of the answer. */
  private arm(slot: HistorySlot): void {
    const f = slot.inFlight;
    if (!f) return;
    clearTimeout(f.timer);
    f.timer = setTimeout(() => this.timedOut(slot), this.cfg.timeoutMs);
  }

  /** Ends the request in flight on this connection; returns it. */
  private settle(slot: HistorySlot): InFlight | undefined {
    const f = slot.inFlight;
    if (!f) return undefined;
    clearTimeout(f.timer);
    slot.inFlight = undefined;
    this.active.delete(`${f.dev.id} ${f.w.cn}`);
    return f;
  }

  private timedOut(slot: HistorySlot): void {
    const f = this.settle(slot);
    if (!f) return;
    this.counts.get(f.dev.id)!.timedOut++;
    this.totals.timedOut++;
    log('warn', 'hj212 history request timed out', {
      link: this.link.name,
      dev: f.dev.id,
      cn: f.w.cn,
      from: iso(f.w.begin),
      to: iso(f.w.end),
      try: f.w.tries,
      received: f.received,
    });
    this.again(f, 'no answer within timeout_s');
    this.pump(slot);
    this.pumpFor(f.dev.id);
  }

  /**
   * A failed try: the window goes first again (a hole found meanwhile that touches it joins it), unless
   * it has had every try. `pause`: not before timeout_s from now (the logger said it could not do it).
   */
  private again(f: InFlight, why: string, pause = false): void {
    if (f.w.tries > this.cfg.retries) return this.giveUp(f, why);
    if (pause) f.w.notBefore = Date.now() + this.cfg.timeoutMs;
    this.queue(f.dev.id, f.w, true);
    this.persist(f.dev.id);
  }

  private giveUp(f: InFlight, why: string): void {
    this.dropped(f.dev.id, f.w, why);
    this.persist(f.dev.id);
  }

  /** A 9011 or 9012 from a logger: true when it answers the request in flight on this connection. */
  onAnswer(slot: HistorySlot, p: Packet): boolean {
    const f = slot.inFlight;
    if (!f || p.qn !== f.qn || p.mn !== f.dev.mn) return false;
    const code = answerCode(p);
    if (p.cn === '9011' && code === QN_RTN.ready) {
      this.arm(slot);
      return true;
    }
    this.settle(slot);
    if (p.cn === '9011') this.giveUp(f, `the logger refused the request (QnRtn=${code})`);
    else if (code === EXE_RTN.success || code === EXE_RTN.noData) {
      this.counts.get(f.dev.id)!.done++;
      this.totals.done++;
      this.persist(f.dev.id);
      log('info', 'hj212 history received', {
        link: this.link.name,
        dev: f.dev.id,
        cn: f.w.cn,
        from: iso(f.w.begin),
        to: iso(f.w.end),
        packets: f.received,
        exe_rtn: code,
      });
    } else this.again(f, `the logger could not execute it (ExeRtn=${code})`, true);
    this.pump(slot);
    this.pumpFor(f.dev.id);
    return true;
  }

  /** The connection closed: a request in flight is tried again on the next one (it counts as a try). */
  closed(slot: HistorySlot): void {
    slot.closed = true;
    clearTimeout(slot.settle);
    clearTimeout(slot.wake);
    for (const [dev, s] of this.home) if (s === slot) this.home.delete(dev);
    const f = this.settle(slot);
    if (!f) return;
    this.again(f, 'the connection closed');
    this.pumpFor(f.dev.id); // the logger may already be back on another connection
  }

  /** Stops every timer (the link closes); nothing more is asked. */
  stop(slots: Iterable<HistorySlot>): void {
    this.stopped = true;
    for (const s of slots) this.closed(s);
  }
}
