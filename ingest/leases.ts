// Shard leases in Redis: ingest workers share the up/ shards without fixed indexes. Each worker holds
// a shard by a key `…:lease:{s}` set to its own token with a time to live; it renews what it holds
// every ttl/3 (compare-and-extend), takes free shards up to its fair share (ceil(S / live workers), the
// live workers counted by their own heartbeat keys), gives back what it holds above that share, and
// deletes its keys on a clean stop (compare-and-delete). A worker that dies stops renewing: its keys
// expire and the others take its shards.
//
// Fencing: a lease counts as held only until the time its last successful renewal was sent plus the
// ttl less a margin, measured on this process's monotonic clock. A worker cut off from Redis therefore
// stops processing a shard before its key can expire and another worker can take it.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { log } from '../protocol/log.ts';
import { fnv1a32 } from '../protocol/topics.ts';

/** The shards each live worker should hold at most: ceil(S / live workers). */
export function fairShare(shards: number, liveWorkers: number): number {
  return Math.ceil(shards / Math.max(1, liveWorkers));
}

export const DEFAULT_LEASE_TTL_MS = 5000;
/** Shorter ttls leave too little room for a renewal round trip and a database restore. */
export const MIN_LEASE_TTL_MS = 1000;

export interface LeaseOptions {
  /** redis://host:port[/db] */
  redisUrl: string;
  ttlMs: number;
  shards: number;
  /** Keys live under `qingcheng:{namespace}:` (the topic prefix: brokers of one deployment share it). */
  namespace: string;
  /** This worker's token (random unless given). */
  token?: string;
  /** Whether to renew and rebalance on a timer (tests call `tick` themselves). */
  timers?: boolean;
}

export interface LeaseHandlers {
  /** Shards just taken: restore their state, then subscribe. */
  gained(shards: number[]): void;
  /** Shards no longer held (lost, expired, or given back): stop reading and acknowledging them now. */
  lost(shards: number[], why: string): void;
}

// Extends each key that still holds the token; returns 1 or 0 per key.
const EXTEND = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]); out[i] = 1 else out[i] = 0 end
end
return out`;

// Takes free keys (SET NX PX) in the order given, up to ARGV[3] of them; returns their positions.
const ACQUIRE = `
local got = {}
for i, k in ipairs(KEYS) do
  if #got >= tonumber(ARGV[3]) then break end
  if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then got[#got + 1] = i end
end
return got`;

// Deletes each key that still holds the token; returns how many.
const RELEASE = `
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k); n = n + 1 end
end
return n`;

export class ShardLeases {
  readonly token: string;
  readonly ttlMs: number;
  /** Fencing margin: a lease is given up this long before its key could expire. */
  readonly marginMs: number;
  /** Held shards and until when (monotonic ms) each may be used. */
  private held = new Map<number, number>();
  private redis: Redis;
  private handlers: LeaseHandlers = { gained: () => undefined, lost: () => undefined };
  private timer?: NodeJS.Timeout;
  private fence?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  /** Live workers at the last count (this one included). */
  liveWorkers = 0;
  stats = { gains: 0, losses: 0, renewFailures: 0 };

  constructor(readonly o: LeaseOptions) {
    if (!(o.ttlMs >= MIN_LEASE_TTL_MS)) throw new Error(`lease ttl ${o.ttlMs} ms is below ${MIN_LEASE_TTL_MS} ms`);
    this.token = o.token ?? randomBytes(6).toString('hex');
    this.ttlMs = o.ttlMs;
    this.marginMs = Math.max(200, Math.round(o.ttlMs / 5));
    // Commands fail at once while Redis is away rather than queue: a renewal that waits is worth nothing.
    this.redis = new Redis(o.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: Math.round(o.ttlMs / 3),
    });
    this.redis.on('error', () => undefined); // reported by the commands that fail
  }

  private key(what: string): string {
    return `qingcheng:${this.o.namespace}:${what}`;
  }
  private leaseKey(s: number): string {
    return this.key(`lease:${s}`);
  }
  private get heartbeatKey(): string {
    return this.key(`worker:${this.token}`);
  }

  /** Connects (failing fast, naming the URL, when Redis does not answer) and starts the first round. */
  async start(handlers: LeaseHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      await this.redis.connect();
      await this.redis.ping();
    } catch (e) {
      this.redis.disconnect();
      throw new Error(`cannot reach Redis at ${this.o.redisUrl} for shard leases (${(e as Error).message})`);
    }
    if (this.o.timers === false) return;
    await this.tick();
    this.schedule();
    // The fence runs on its own timer: a renewal stuck on a dead connection must not keep a shard in use.
    this.fence = setInterval(() => this.sweep(), Math.max(50, Math.round(this.ttlMs / 10)));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.schedule()), Math.round(this.ttlMs / 3));
  }

  /** Whether this worker may read and acknowledge shard `s` now. */
  holds(s: number): boolean {
    const until = this.held.get(s);
    return until !== undefined && performance.now() < until;
  }

  /** The shards held now, in order. */
  shards(): number[] {
    return [...this.held.keys()].filter((s) => this.holds(s)).sort((a, b) => a - b);
  }

  /** Drops the shards whose fence has passed. */
  private sweep(): void {
    const now = performance.now();
    const gone = [...this.held].filter(([, until]) => now >= until).map(([s]) => s);
    this.drop(gone, 'its lease could not be renewed in time');
  }

  private drop(shards: number[], why: string): void {
    if (!shards.length) return;
    for (const s of shards) this.held.delete(s);
    this.stats.losses += shards.length;
    log('warn', 'shard leases lost', { token: this.token, shards, why });
    this.handlers.lost(shards, why);
  }

  /** One round: heartbeat, renew, count the live workers, then give back or take shards toward the fair share. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      const sent = performance.now();
      await this.redis.set(this.heartbeatKey, '1', 'PX', this.ttlMs);
      await this.renew(sent);
      this.liveWorkers = await this.countWorkers();
      const target = fairShare(this.o.shards, this.liveWorkers);
      const mine = this.shards();
      if (mine.length > target) await this.giveBack(mine.slice(target));
      else if (mine.length < target) await this.take(target - mine.length, performance.now());
    } catch (e) {
      this.stats.renewFailures++;
      log('warn', 'shard lease round failed; held shards are dropped when their fence passes', {
        error: (e as Error).message,
      });
    }
  }

  private async renew(sent: number): Promise<void> {
    const mine = [...this.held.keys()];
    if (!mine.length) return;
    const ok = (await this.redis.eval(
      EXTEND,
      mine.length,
      ...mine.map((s) => this.leaseKey(s)),
      this.token,
      this.ttlMs,
    )) as number[];
    const lost: number[] = [];
    mine.forEach((s, i) => {
      if (ok[i] === 1) this.held.set(s, sent + this.ttlMs - this.marginMs);
      else lost.push(s);
    });
    this.drop(lost, 'another worker holds its lease');
  }

  private async countWorkers(): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.key('worker:*'), 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    return Math.max(1, n);
  }

  private async take(want: number, sent: number): Promise<void> {
    const start = fnv1a32(this.token) % this.o.shards;
    const order: number[] = [];
    for (let k = 0; k < this.o.shards; k++) {
      const s = (start + k) % this.o.shards;
      if (!this.held.has(s)) order.push(s);
    }
    const got = (await this.redis.eval(
      ACQUIRE,
      order.length,
      ...order.map((s) => this.leaseKey(s)),
      this.token,
      this.ttlMs,
      want,
    )) as number[];
    const shards = got.map((i) => order[i - 1]!).sort((a, b) => a - b);
    if (!shards.length) return;
    for (const s of shards) this.held.set(s, sent + this.ttlMs - this.marginMs);
    this.stats.gains += shards.length;
    log('info', 'shard leases taken', { token: this.token, shards, live_workers: this.liveWorkers });
    this.handlers.gained(shards);
  }

  /** Stops using the shards first, then deletes their keys, so they are never used by two workers. */
  private async giveBack(shards: number[]): Promise<void> {
    this.drop(shards, `above the fair share of ${fairShare(this.o.shards, this.liveWorkers)}`);
    await this.redis.eval(RELEASE, shards.length, ...shards.map((s) => this.leaseKey(s)), this.token);
  }

  /** A clean stop: stop using every shard, delete its keys and the heartbeat. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.fence);
    await this.ticking;
    const mine = [...this.held.keys()];
    this.held.clear();
    if (mine.length) this.handlers.lost(mine, 'the worker is stopping');
    try {
      if (mine.length) await this.redis.eval(RELEASE, mine.length, ...mine.map((s) => this.leaseKey(s)), this.token);
      await this.redis.del(this.heartbeatKey);
    } catch (e) {
      log('warn', 'cannot release shard leases; they expire on their own', { error: (e as Error).message });
    }
    this.redis.disconnect();
  }
}
