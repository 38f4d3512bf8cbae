// Re-upload of history: the request and answer frames, the gap computation, the outbox's marks, the
// simulated logger's bounded memory and its answer, and the hj212 link fetching a hole after a cut (a
// real listener and a real simulated logger over TCP on free ports; sample times pinned).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  gapBeforeUpload,
  gapSinceLast,
  HistoryBackfill,
  HistorySlot,
  intervalOf,
  SETTLE_MAX_MS,
  SETTLE_MS,
  mergeWindow,
  type Marks,
} from '../../gateway/drivers/hj212-history.ts';
import { Hj212Listener } from '../../gateway/drivers/hj212-listener.ts';
import type { Hj212HistoryConfig } from '../../gateway/config.ts';
import { Outbox } from '../../gateway/outbox.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import {
  answerCode,
  answerFrame,
  formatDataTime,
  FrameReader,
  Hj212Error,
  historyRequestFrame,
  historyWindowOf,
  parseSegment,
  toRecord,
  uploadSegment,
  type Packet,
} from '../../protocol/hj212.ts';
import { decodeRecordParts } from '../../protocol/envelope.ts';
import { DAY, HOUR, MINUTE } from '../../protocol/time.ts';
import { Hj212Logger, loggerSites, type Factors } from '../../simulators/hj212-logger.ts';
import { waitFor } from '../helpers/wait.ts';

/** 2025-12-01 00:00 Beijing time: before any faketime date of the suite. */
const T0 = Date.UTC(2025, 11, 1) - 8 * HOUR;
const at = (min: number) => T0 + min * MINUTE;
const MN = '150100A0000001000000A0C1';

describe('history frames', () => {
  it('writes a request with BeginTime and EndTime in Beijing time, and reads its window back', () => {
    const f = historyRequestFrame({
      qn: '20251201030000000',
      st: '22',
      cn: '2051',
      pw: '123456',
      mn: MN,
      begin: at(50),
      end: at(170),
    });
    const seg = f.toString('latin1').slice(6, -6);
    expect(seg).toBe(
      `QN=20251201030000000;ST=22;CN=2051;PW=123456;MN=${MN};Flag=5;CP=&&BeginTime=20251201005000;EndTime=20251201025000&&`,
    );
    expect(historyWindowOf(parseSegment(seg))).toEqual({ begin: at(50), end: at(170) });
  });

  it('names a missing or backward window', () => {
    const p = (cp: string) => parseSegment(`QN=20251201030000000;ST=22;CN=2061;MN=${MN};Flag=5;CP=&&${cp}&&`);
    expect(() => historyWindowOf(p('BeginTime=20251201005000'))).toThrow(
      'E_SYNTAX: history request CN 2061 has no EndTime',
    );
    expect(() => historyWindowOf(p('BeginTime=20251201005000;EndTime=20251201004000'))).toThrow(
      'ends (20251201004000) before it begins (20251201005000)',
    );
    expect(() => historyWindowOf(p('BeginTime=20251301005000;EndTime=20251201004000'))).toThrow('E_SYNTAX');
  });

  it("reads a logger's QnRtn and ExeRtn", () => {
    const req = parseSegment(`QN=20251201030000000;ST=22;CN=2051;PW=1;MN=${MN};Flag=5;CP=&&&&`);
    const back = (b: Buffer) => parseSegment(b.toString('latin1').slice(6, -6));
    expect(answerCode(back(answerFrame(req, '9011', 1)))).toBe(1);
    expect(answerCode(back(answerFrame(req, '9012', 100)))).toBe(100);
    expect(answerCode(req)).toBeNaN();
  });
});

describe('gap computation', () => {
  const ten = 10 * MINUTE;
  const max = 48 * HOUR;
  it('a live upload more than one interval after the newest stored one is a hole, both ends included', () => {
    expect(gapBeforeUpload(undefined, at(60), ten, max)).toBeNull();
    expect(gapBeforeUpload(at(50), at(60), ten, max)).toBeNull();
    expect(gapBeforeUpload(at(50), at(50), ten, max)).toBeNull();
    expect(gapBeforeUpload(at(40), at(30), ten, max)).toBeNull(); // an older sample: a history answer
    expect(gapBeforeUpload(at(50), at(170), ten, max)).toEqual({ begin: at(50), end: at(170), cut: false });
  });

  it('a logger back after a cut has a hole once an interval after its newest sample has ended', () => {
    expect(gapSinceLast(at(50), at(69), ten, max)).toBeNull(); // 10:00's interval ends at 10:10
    expect(gapSinceLast(at(50), at(70), ten, max)).toEqual({ begin: at(50), end: at(70), cut: false });
    expect(gapSinceLast(T0, T0 + 2 * DAY - 1, DAY, max)).toBeNull();
    expect(gapSinceLast(undefined, at(500), ten, max)).toBeNull(); // never seen: nothing to measure from
  });

  it('cuts a hole to its newest max_window_h', () => {
    expect(gapSinceLast(T0, T0 + 5 * DAY, ten, max)).toEqual({ begin: T0 + 3 * DAY, end: T0 + 5 * DAY, cut: true });
  });

  it('joins a hole to the waiting windows of its CN that it touches, and keeps the others apart', () => {
    const q = mergeWindow([], { cn: '2051', begin: at(10), end: at(50), tries: 1, beginStored: true }, max);
    const q2 = mergeWindow(q, { cn: '2061', begin: T0, end: at(120), tries: 0 }, max);
    const q3 = mergeWindow(q2, { cn: '2051', begin: at(100), end: at(200), tries: 0 }, max);
    expect(q3).toEqual([...q2, { cn: '2051', begin: at(100), end: at(200), tries: 0 }]);
    // 00:50 to 01:40 touches both: one window, whose start is still a stored sample.
    expect(mergeWindow(q3, { cn: '2051', begin: at(50), end: at(100), tries: 0 }, max)).toEqual([
      { cn: '2051', begin: at(10), end: at(200), tries: 0, beginStored: true },
      { cn: '2061', begin: T0, end: at(120), tries: 0 },
    ]);
    // Cut to the newest max window: its start is no longer a stored sample.
    expect(mergeWindow(q, { cn: '2051', begin: at(50), end: at(3000), tries: 0 }, 24 * HOUR)).toEqual([
      { cn: '2051', begin: at(3000) - 24 * HOUR, end: at(3000), tries: 0 },
    ]);
    expect(intervalOf('2051', ten)).toBe(ten);
    expect(intervalOf('2061', ten)).toBe(HOUR);
    expect(intervalOf('2031', ten)).toBe(DAY);
  });
});

describe('state across a restart', () => {
  it('asks again for a window saved by the run before, once the logger is back, and forgets it when done', async () => {
    const saved: Marks[] = [];
    const cfg = { backfill: true, maxWindowMs: 48 * HOUR, timeoutMs: 10_000, retries: 2, minuteIntervalMin: 10 };
    const h = new HistoryBackfill(
      cfg,
      { name: 'hj', offsetHours: 8 },
      ['st-h'],
      { 'hj212/st-h/last/2051': at(170), 'hj212/st-h/gap/2051/3000': 9000, [`hj212/st-h/gap/2061/${T0}`]: at(120) },
      (m) => void saved.push(m),
      () => at(175),
    );
    expect(h.lastOf('st-h', '2051')).toBe(at(170));
    expect(h.counts.get('st-h')!.pending).toBe(2);
    const sent: Packet[] = [];
    const slot = new HistorySlot((b) => sent.push(parseSegment(b.toString('latin1').slice(6, -6))));
    h.seen(slot, { id: 'st-h', mn: MN, crc: 'hj212', st: '22', pw: '123456', edition: 1 });
    await waitFor('the first request', () => sent.length === 1, 5000);
    expect(sent[0]).toMatchObject({ cn: '2051', st: '22', pw: '123456', flag: 5 });
    expect(historyWindowOf(sent[0]!)).toEqual({ begin: 3000, end: 9000 });
    const answer = (cn: '9011' | '9012', v: number) =>
      parseSegment(
        answerFrame(sent[sent.length - 1]!, cn, v)
          .toString('latin1')
          .slice(6, -6),
      );
    expect(h.onAnswer(slot, answer('9011', 1))).toBe(true);
    expect(h.onAnswer(slot, answer('9012', 100))).toBe(true);
    expect(saved.at(-1)).toEqual({ 'hj212/st-h/gap/2051/3000': null, [`hj212/st-h/gap/2061/${T0}`]: at(120) });
    expect(historyWindowOf(sent[1]!)).toEqual({ begin: T0, end: at(120) });
    h.closed(slot); // the connection drops mid-request: the window waits for the next one
    expect(h.counts.get('st-h')).toMatchObject({ requested: 2, done: 1, pending: 1 });
  });
});

describe('settling', () => {
  afterEach(() => void vi.useRealTimers());
  it('checks a reconnected logger once it has been quiet for SETTLE_MS, or SETTLE_MAX_MS after its first packet', () => {
    vi.useFakeTimers();
    const cfg = { backfill: true, maxWindowMs: 48 * HOUR, timeoutMs: 10_000, retries: 2, minuteIntervalMin: 10 };
    const sent: Buffer[] = [];
    const dev = { id: 'st-h', mn: MN, crc: 'hj212' as const, st: '22', edition: 1 };
    const saved = { 'hj212/st-h/gap/2061/5000': 7000 };
    const h = new HistoryBackfill(cfg, { name: 'hj', offsetHours: 8 }, ['st-h'], saved, () => undefined);
    // A backlog streaming in, a packet every second: nothing is asked while it lasts.
    const slot = new HistorySlot((b) => void sent.push(b));
    for (let i = 0; i < 5; i++) {
      h.seen(slot, dev);
      vi.advanceTimersByTime(1000);
    }
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(SETTLE_MS);
    expect(sent).toHaveLength(1);
    // A logger that never falls quiet is checked all the same.
    const busy = new HistorySlot((b) => void sent.push(b));
    h.closed(slot);
    for (let t = 0; t < SETTLE_MAX_MS; t += 1000) {
      h.seen(busy, dev);
      vi.advanceTimersByTime(1000);
    }
    expect(sent).toHaveLength(2);
    h.closed(busy);
  });
});

describe("a logger's answers", () => {
  it('a refusal (QnRtn 2) gives the window up; a failed execution (ExeRtn 5) is tried again', async () => {
    const cfg = { backfill: true, maxWindowMs: 48 * HOUR, timeoutMs: 1000, retries: 2, minuteIntervalMin: 10 };
    const saved = { 'hj212/st-h/gap/2051/3000': 9000, 'hj212/st-h/gap/2061/5000': 7000 };
    const h = new HistoryBackfill(cfg, { name: 'hj', offsetHours: 8 }, ['st-h'], saved, () => undefined);
    const sent: Packet[] = [];
    const slot = new HistorySlot((b) => sent.push(parseSegment(b.toString('latin1').slice(6, -6))));
    h.seen(slot, { id: 'st-h', mn: MN, crc: 'hj212', st: '31', edition: 2 });
    await waitFor('the first request', () => sent.length === 1, 5000, 10);
    expect(sent[0]).toMatchObject({ cn: '2051', st: '31', flag: 9 }); // in the logger's edition (HJ 212-2025)
    const answer = (cn: '9011' | '9012', v: number) =>
      parseSegment(
        answerFrame(sent[sent.length - 1]!, cn, v)
          .toString('latin1')
          .slice(6, -6),
      );
    h.onAnswer(slot, answer('9011', 2));
    expect(sent.map((p) => p.cn)).toEqual(['2051', '2061']);
    h.onAnswer(slot, answer('9011', 1));
    h.onAnswer(slot, answer('9012', 5)); // system busy: asked again after a pause of timeout_s
    expect(sent.map((p) => p.cn)).toEqual(['2051', '2061']);
    await waitFor('the second try', () => sent.length === 3, 5000, 10);
    expect(sent[2]!.cn).toBe('2061');
    h.onAnswer(slot, answer('9012', 1));
    expect(h.counts.get('st-h')).toEqual({ requested: 3, received: 0, timedOut: 0, failed: 1, done: 1, pending: 0 });
    // An answer to no request of this connection is not the link's business.
    expect(h.onAnswer(slot, answer('9012', 1))).toBe(false);
  });
});

describe('outbox marks', () => {
  it('are written with the records in one transaction, deleted with null, and kept across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qingcheng-marks-'));
    try {
      const path = join(dir, 'outbox.sqlite');
      const o = new Outbox(path);
      o.append([{ dev: 'd', kind: 'air.station', ts: at(0), m: { pm25: 1 } }], { 'hj212/d/last/2051': at(0) });
      o.append([], { 'hj212/d/from/2051': at(0), 'hj212/d/to/2051': at(60), 'other/x': 1 });
      o.append([], { 'hj212/d/to/2051': null });
      expect(o.next).toBe(1);
      o.close();
      const again = new Outbox(path);
      expect(again.marksWith('hj212/')).toEqual({ 'hj212/d/last/2051': at(0), 'hj212/d/from/2051': at(0) });
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Minute and hourly data whose mean is the interval's start in minutes past T0 (easy to check). */
const mean = (from: number): Factors => ({ a34004: { Avg: (from - T0) / MINUTE, Flag: 'N' } });
function logger(port: number, o: Partial<ConstructorParameters<typeof Hj212Logger>[0]> = {}): Hj212Logger {
  return new Hj212Logger({
    host: '127.0.0.1',
    port,
    mn: MN,
    st: '22',
    intervalMs: MINUTE,
    ackTimeoutMs: 60_000,
    factors: (t) => ({ a34004: { Rtd: (t.getTime() - T0) / MINUTE, Flag: 'N' } }),
    aggregates: [
      { cn: '2051', everyMs: 10 * MINUTE, factors: mean },
      { cn: '2061', everyMs: HOUR, factors: mean },
    ],
    ...o,
  });
}
/** The logger samples once a minute from `from` to `to` minutes past T0 (pinned times). */
const run = (l: Hj212Logger, from: number, to: number) => {
  for (let m = from; m <= to; m++) l.sample(at(m));
};

describe("the simulated logger's memory", () => {
  let server: Server | undefined;
  let l: Hj212Logger | undefined;
  afterEach(async () => {
    l?.stop();
    await new Promise((r) => (server ? server.close(r) : r(null)));
  });

  /** A platform on a free port: sends one request to the logger and collects the packets until 9012. */
  async function ask(cn: '2051' | '2061', begin: number, end: number, o = {}): Promise<Packet[]> {
    const got: Packet[] = [];
    let peer!: Socket;
    const connected = new Promise<void>((r) => {
      server = createServer((s) => {
        peer = s;
        const reader = new FrameReader();
        s.on('data', (c: Buffer) => {
          for (const f of reader.push(c)) if (!(f instanceof Hj212Error)) got.push(parseSegment(f.segment.toString()));
        });
        r();
      }).listen(0, '127.0.0.1');
    });
    await new Promise<void>((r) => server!.once('listening', () => r()));
    l = logger((server!.address() as { port: number }).port, { historyDays: 1 / 24, ...o });
    run(l, 0, 180); // three hours, offline at first: it only remembers the last hour's intervals
    l.open();
    await connected;
    await waitFor('its queue re-sent', () => got.filter((p) => p.cn === '2051').length >= 1, 10_000);
    got.length = 0;
    peer.write(historyRequestFrame({ qn: '20251201030100000', st: '22', cn, mn: MN, begin, end }));
    await waitFor('the 9012', () => got.some((p) => p.cn === '9012'), 10_000);
    return got;
  }

  it('answers 9011, the intervals it holds in the window with the request QN and CN, then 9012', async () => {
    const got = await ask('2051', at(0), at(180));
    expect(l!.heldTimes('2051')).toEqual([110, 120, 130, 140, 150, 160, 170].map(at));
    expect(got.map((p) => p.cn)).toEqual(['9011', ...Array(7).fill('2051'), '9012']);
    expect(answerCode(got[0]!)).toBe(1);
    expect(answerCode(got[8]!)).toBe(1);
    expect(got.every((p) => p.qn === '20251201030100000')).toBe(true);
    // What it no longer holds is not invented: 10:00 to 10:50 Beijing time are gone.
    expect(got.slice(1, 8).map((p) => [p.cp.fields.DataTime, p.cp.factors.get('a34004')!.Avg])).toEqual(
      [110, 120, 130, 140, 150, 160, 170].map((m) => [
        `202512010${Math.floor(m / 60)}${String(m % 60).padStart(2, '0')}00`,
        String(m),
      ]),
    );
    expect(l!.stats).toMatchObject({ historyRequests: 1, historySent: 7 });
  });

  it('answers ExeRtn 100 for a window it holds nothing of', async () => {
    const got = await ask('2061', at(0), at(30));
    expect(got.map((p) => [p.cn, answerCode(p)])).toEqual([
      ['9011', 1],
      ['9012', 100],
    ]);
  });
});

describe('the hj212 link fetches a hole', () => {
  const history: Hj212HistoryConfig = {
    backfill: true,
    maxWindowMs: 48 * HOUR,
    timeoutMs: 10_000,
    retries: 2,
    minuteIntervalMin: 10,
  };
  const link = { name: 'hj', type: 'hj212' as const, host: '127.0.0.1', port: 0, offsetHours: 8, maxClockDriftS: 0 };
  const devices = [{ id: 'st-h', kind: 'air.station' as const, link: 'hj', mn: MN, crc: 'hj212' as const }];
  /** The outbox's part: records and marks, kept across listeners (a gateway restart). */
  const records: SampleRecord[] = [];
  const marks: Record<string, number> = {};
  const store = (rs: SampleRecord[], m: Marks = {}) => {
    records.push(...rs);
    for (const [k, v] of Object.entries(m)) {
      if (v === null) delete marks[k];
      else marks[k] = v;
    }
  };
  let now = at(0);
  let listener: Hj212Listener | undefined;
  let l: Hj212Logger | undefined;
  afterEach(async () => {
    l?.stop();
    await listener?.close();
    records.length = 0;
    for (const k of Object.keys(marks)) delete marks[k];
  });

  const interval = (agg: string) => records.filter((r) => r.agg === agg).map((r) => r.ts);

  it('after a gateway restart: a skipped hour and the minutes missed since, each stored once', async () => {
    listener = new Hj212Listener({ ...link, history }, devices, store, () => now);
    const port = await listener.start();
    // A small send queue: what the logger cannot send during the cut stays only in its memory.
    l = logger(port, { maxQueued: 1 });
    l.open();
    await waitFor('the logger connected', () => l!.stats.connects === 1, 10_000);
    run(l, 0, 60);
    await waitFor('the first hour stored', () => interval('hour').length === 1 && interval('min').length === 6, 10_000);
    expect(marks).toEqual({ 'hj212/st-h/last/2051': at(50), 'hj212/st-h/last/2061': at(0) });

    await listener.close(); // the gateway stops; the logger samples on
    run(l, 61, 180);
    now = at(180) + 30_000;
    listener = new Hj212Listener({ ...link, port, history }, devices, store, () => now, { ...marks });
    await listener.start();
    // The one packet queued (the hour from 02:00) shows the hour from 01:00 missing; the minutes since
    // 00:50 are found missing when the logger is back.
    await waitFor('both windows fetched', () => listener!.perDevice.get('st-h')!.history!.done === 2, 20_000);
    expect(interval('min').sort()).toEqual(l.heldTimes('2051'));
    expect(interval('hour').sort()).toEqual(l.heldTimes('2061'));
    const keys = records.filter((r) => r.agg).map((r) => `${r.agg} ${r.ts}`);
    expect(new Set(keys).size).toBe(keys.length); // each interval stored once
    expect(listener.perDevice.get('st-h')!.history).toEqual({
      requested: 2,
      received: 3 + 13, // 00:00, 01:00, 02:00; 00:50 to 02:50
      timedOut: 0,
      failed: 0,
      done: 2,
      pending: 0,
    });
    expect(marks).toEqual({ 'hj212/st-h/last/2051': at(170), 'hj212/st-h/last/2061': at(120) });
  });

  it('tries a window retries + 1 times, then gives it up, counted', async () => {
    listener = new Hj212Listener(
      { ...link, history: { ...history, timeoutMs: 300, retries: 1 } },
      devices,
      store,
      () => now,
    );
    const port = await listener.start();
    l = logger(port, { answersHistory: false });
    l.open();
    await waitFor('the logger connected', () => l!.stats.connects === 1, 10_000);
    run(l, 0, 20);
    await waitFor('two minutes stored', () => interval('min').length === 2, 10_000);
    l.upload('2051', at(60), mean(at(60))); // 00:20 to 00:50 skipped
    await waitFor('given up', () => listener!.perDevice.get('st-h')!.history!.failed === 1, 10_000);
    expect(listener.perDevice.get('st-h')!.history).toMatchObject({ requested: 2, timedOut: 2, failed: 1, pending: 0 });
    expect(Object.keys(marks).filter((k) => k.includes('/gap/'))).toEqual([]);
  });
});

describe("the simulator's own stations and stacks", () => {
  it('upload hourly and daily data (stacks also 10-minute data) that the link stores with no field refused', () => {
    const [st, cems] = loggerSites(1, 1);
    expect(st!.aggregates.map((a) => a.cn)).toEqual(['2061', '2031']);
    expect(cems!.aggregates.map((a) => a.cn)).toEqual(['2051', '2061', '2031']);
    for (const site of [st!, cems!])
      for (const a of site.aggregates) {
        const from = T0;
        const seg = uploadSegment({
          qn: '20251201000000000',
          st: site.st,
          cn: a.cn,
          pw: '123456',
          mn: site.mn,
          flag: 5,
          dataTime: formatDataTime(from),
          factors: a.factors(from, a.everyMs),
        });
        const { record, unknown } = toRecord(parseSegment(seg), site.id, site.kind);
        expect(unknown).toEqual([]);
        const d = decodeRecordParts(record, 'record', Date.now());
        expect(d.dropped).toEqual([]);
        expect(d.record.m.pm25_avg ?? d.record.m.so2_zsavg).toBeGreaterThan(0);
      }
  });
});

describe('which connection a request goes on', () => {
  afterEach(() => void vi.useRealTimers());
  const cfg = { backfill: true, maxWindowMs: 48 * HOUR, timeoutMs: 10_000, retries: 2, minuteIntervalMin: 10 };
  const dev = { id: 'st-h', mn: MN, crc: 'hj212' as const, st: '22', edition: 1 };
  const windows = (sent: Buffer[]) => sent.map((b) => historyWindowOf(parseSegment(b.toString('latin1').slice(6, -6))));
  /** The backfill of st-h from the outbox marks `saved`, its clock standing at `now`. */
  const backfill = (saved: Record<string, number>, now: number) =>
    new HistoryBackfill(
      cfg,
      { name: 'hj', offsetHours: 8 },
      ['st-h'],
      saved,
      () => undefined,
      () => now,
    );
  /** A connection on which st-h is seen and then settles; what is sent on it. */
  const connect = (h: HistoryBackfill) => {
    const sent: Buffer[] = [];
    const slot = new HistorySlot((b) => void sent.push(b));
    h.seen(slot, dev);
    vi.advanceTimersByTime(SETTLE_MS);
    return { slot, sent };
  };

  it('a hole an upload reveals on a settled connection is asked for at once', async () => {
    vi.useFakeTimers();
    const h = backfill({ 'hj212/st-h/last/2051': at(50) }, at(55));
    const { slot, sent } = connect(h); // settled: nothing missed since 00:50
    expect(sent).toHaveLength(0);
    h.onData(slot, 'st-h', '2051', at(60));
    h.onData(slot, 'st-h', '2051', at(100)); // 01:10 to 01:30 skipped
    await Promise.resolve();
    expect(windows(sent)).toEqual([{ begin: at(60), end: at(100) }]);
    h.stop([slot]);
  });

  it('a try that fails on a connection the logger has left is asked again on its new one', () => {
    vi.useFakeTimers();
    const h = backfill({ 'hj212/st-h/gap/2051/3000': 9000 }, at(0));
    const { slot: a, sent: old } = connect(h);
    expect(old).toHaveLength(1);
    // The logger reconnects while the old connection is still open (half-open, not yet timed out).
    const { slot: b, sent: fresh } = connect(h);
    expect(fresh).toHaveLength(0); // the window is in flight on the old one
    vi.advanceTimersByTime(cfg.timeoutMs);
    expect(old).toHaveLength(1);
    expect(windows(fresh)).toEqual([{ begin: 3000, end: 9000 }]);
    h.stop([a, b]);
  });

  it('a request cut by its connection closing goes on the connection the logger is already back on', () => {
    vi.useFakeTimers();
    const h = backfill({ 'hj212/st-h/gap/2051/3000': 9000 }, at(0));
    const { slot: a } = connect(h);
    const { slot: b, sent: fresh } = connect(h);
    h.closed(a);
    expect(windows(fresh)).toEqual([{ begin: 3000, end: 9000 }]);
    // The link stopping asks nothing more of anyone.
    h.stop([b]);
    expect(fresh).toHaveLength(1);
    expect(h.counts.get('st-h')).toMatchObject({ requested: 2, failed: 0, pending: 1 });
  });
});
