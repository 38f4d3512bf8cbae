// The gateway's durable outbox (docs/protocol.md §6): every record is stored here, under a gap-free sequence
// number, before it is published; it leaves only when ingest's watermark passes it, or when the disk
// budget forces an eviction, which is counted and announced as a gap.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SampleRecord } from '../protocol/envelope.ts';

export interface StoredRecord {
  seq: number;
  body: string;
}

/** Eviction order under the disk budget: raw samples go first, aggregates and alarms last. */
export function priorityOf(r: SampleRecord): number {
  switch (r.agg ?? 'rt') {
    case 'rt':
      return 0;
    case 'min':
      return 1;
    case 'hour':
      return 2;
    case 'day':
      return 3;
  }
}

export class Outbox {
  private db: Database.Database;
  readonly epoch: string;
  private nextSeq: number;
  private ackedSeq: number;
  evicted: number;
  private count: number;
  private q: Record<string, Database.Statement>;

  constructor(
    path: string,
    private maxRecords = 1_000_000,
    sync: 'full' | 'normal' = 'full',
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a record acknowledged to nobody yet must still survive a power cut, or a seq could be reused.
    this.db.pragma(`synchronous = ${sync.toUpperCase()}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, prio INTEGER NOT NULL, sent_at INTEGER, body TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS records_sent ON records (sent_at, seq);
      CREATE INDEX IF NOT EXISTS records_prio ON records (prio, seq);
      CREATE TABLE IF NOT EXISTS gaps (from_seq INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS marks (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    `);
    const get = this.db.prepare<[string], { v: string }>('SELECT v FROM meta WHERE k = ?');
    const put = this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
    let epoch = get.get('epoch')?.v;
    if (!epoch) {
      epoch = randomBytes(6).toString('base64url');
      put.run('epoch', epoch);
      put.run('next_seq', '0');
      put.run('acked', '-1');
      put.run('evicted', '0');
    }
    this.epoch = epoch;
    this.nextSeq = Number(get.get('next_seq')!.v);
    this.ackedSeq = Number(get.get('acked')!.v);
    this.evicted = Number(get.get('evicted')!.v);
    this.count = (this.db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
    this.q = {
      put,
      markSet: this.db.prepare('INSERT INTO marks (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      markDelete: this.db.prepare('DELETE FROM marks WHERE k = ?'),
      marks: this.db.prepare('SELECT k, v FROM marks WHERE k >= ? AND k < ?'),
      insert: this.db.prepare('INSERT INTO records (seq, prio, body) VALUES (?, ?, ?)'),
      newest: this.db.prepare('SELECT seq, body FROM records WHERE sent_at IS NULL ORDER BY seq DESC LIMIT ?'),
      oldest: this.db.prepare(
        'SELECT seq, body FROM records WHERE sent_at IS NULL AND seq > ? ORDER BY seq ASC LIMIT ?',
      ),
      markSent: this.db.prepare('UPDATE records SET sent_at = ? WHERE seq BETWEEN ? AND ?'),
      markUnsent: this.db.prepare('UPDATE records SET sent_at = NULL WHERE seq BETWEEN ? AND ?'),
      expire: this.db.prepare('UPDATE records SET sent_at = NULL WHERE sent_at IS NOT NULL AND sent_at < ?'),
      unacked: this.db.prepare('SELECT count(*) AS n FROM records WHERE sent_at IS NOT NULL'),
      trim: this.db.prepare('DELETE FROM records WHERE seq <= ?'),
      trimGaps: this.db.prepare('DELETE FROM gaps WHERE to_seq <= ?'),
      floor: this.db.prepare('SELECT min(seq) AS s FROM records'),
      victims: this.db.prepare('SELECT seq FROM records ORDER BY prio ASC, seq ASC LIMIT ?'),
      evict: this.db.prepare('DELETE FROM records WHERE seq = ?'),
      // Envelopes carry at most 1000 gap ranges; later ones are announced once the first are passed.
      gaps: this.db.prepare(
        'SELECT from_seq AS f, to_seq AS t FROM gaps WHERE to_seq >= ? ORDER BY from_seq LIMIT 999',
      ),
      gapExtend: this.db.prepare('UPDATE gaps SET to_seq = ? WHERE to_seq = ?'),
      gapInsert: this.db.prepare(
        'INSERT INTO gaps (from_seq, to_seq) VALUES (?, ?) ON CONFLICT(from_seq) DO UPDATE SET to_seq = max(to_seq, excluded.to_seq)',
      ),
    };
  }

  /**
   * Stores records under consecutive seqs in one transaction; returns the first seq. `marks` (a number
   * sets, null deletes) are written in the same transaction: an input's note of what it has stored
   * (the newest time per HJ 212 logger series) can never run ahead of the records, or lag behind them.
   */
  append(records: SampleRecord[], marks: Record<string, number | null> = {}): number {
    const first = this.nextSeq;
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(marks)) {
        if (v === null) this.q.markDelete!.run(k);
        else this.q.markSet!.run(k, v);
      }
      if (!records.length) return;
      for (const [i, r] of records.entries()) this.q.insert!.run(first + i, priorityOf(r), JSON.stringify(r));
      this.nextSeq = first + records.length;
      this.q.put!.run('next_seq', String(this.nextSeq));
      this.count += records.length;
      if (this.count > this.maxRecords) this.evictOver();
    })();
    return first;
  }

  /** Deletes the least valuable records past the budget and remembers their seqs as gaps. */
  private evictOver(): void {
    const n = this.count - this.maxRecords;
    const seqs = (this.q.victims!.all(n) as { seq: number }[]).map((r) => r.seq).sort((a, b) => a - b);
    for (const s of seqs) this.q.evict!.run(s);
    for (const [from, to] of runs(seqs)) {
      if (this.q.gapExtend!.run(to, from - 1).changes === 0) this.q.gapInsert!.run(from, to);
    }
    this.count -= seqs.length;
    this.evicted += seqs.length;
    this.q.put!.run('evicted', String(this.evicted));
  }

  /** The marks whose key starts with `prefix`. */
  marksWith(prefix: string): Record<string, number> {
    const rows = this.q.marks!.all(prefix, prefix + '\uffff') as { k: string; v: number }[];
    return Object.fromEntries(rows.map((r) => [r.k, r.v]));
  }

  /** The newest contiguous run of unsent records (live data goes first). */
  newestUnsent(max: number): StoredRecord[] {
    const rows = this.q.newest!.all(max) as StoredRecord[];
    let n = 1;
    while (n < rows.length && rows[n]!.seq === rows[n - 1]!.seq - 1) n++;
    return rows.slice(0, n).reverse();
  }

  /** The oldest contiguous run of unsent records (backlog replay). */
  oldestUnsent(max: number): StoredRecord[] {
    const rows = this.q.oldest!.all(this.ackedSeq, max) as StoredRecord[];
    let n = 1;
    while (n < rows.length && rows[n]!.seq === rows[n - 1]!.seq + 1) n++;
    return rows.slice(0, rows.length ? n : 0);
  }

  markSent(from: number, to: number, now = Date.now()): void {
    this.q.markSent!.run(now, from, to);
  }
  markUnsent(from: number, to: number): void {
    this.q.markUnsent!.run(from, to);
  }

  /** Records sent before `before` and still unacknowledged become due again; returns how many. */
  expireSent(before: number): number {
    return this.q.expire!.run(before).changes;
  }

  unackedCount(): number {
    return (this.q.unacked!.get() as { n: number }).n;
  }

  /** Applies ingest's watermark: everything at or below `seq` is durably stored and leaves the outbox. */
  ack(seq: number): number {
    if (seq <= this.ackedSeq) return 0;
    if (seq >= this.nextSeq) seq = this.nextSeq - 1; // a watermark from a future we never wrote: trust only what we have
    let removed = 0;
    this.db.transaction(() => {
      removed = this.q.trim!.run(seq).changes;
      this.q.trimGaps!.run(seq);
      this.ackedSeq = seq;
      this.q.put!.run('acked', String(seq));
    })();
    this.count -= removed;
    return removed;
  }

  /**
   * Seq ranges that will never be sent: everything below the lowest record held (acknowledged or
   * evicted) and evicted ranges above it. Sent with every envelope, so an ingest worker that lost its
   * state can still advance the watermark.
   */
  settled(): [number, number][] {
    const floor = (this.q.floor!.get() as { s: number | null }).s ?? this.nextSeq;
    const out: [number, number][] = floor > 0 ? [[0, floor - 1]] : [];
    for (const g of this.q.gaps!.all(floor) as { f: number; t: number }[]) out.push([Math.max(g.f, floor), g.t]);
    return out;
  }

  get depth(): number {
    return this.count;
  }
  get next(): number {
    return this.nextSeq;
  }
  get acked(): number {
    return this.ackedSeq;
  }

  close(): void {
    this.db.close();
  }
}

/** Groups sorted integers into inclusive runs. */
export function runs(sorted: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === s - 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}
