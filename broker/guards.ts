// Two counters that slow abuse down: connection attempts per address, and refused logins per user and
// address. Both forget on their own, so their maps hold only recent offenders. And a gate that runs a
// few slow checks (scrypt) at once.

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per address: `burst` attempts at once, then `perSecond`. */
export class AddressBuckets {
  private buckets = new Map<string, Bucket>();

  constructor(
    private burst: number,
    private perSecond: number,
    private now: () => number = Date.now,
  ) {}

  /** Takes one attempt from the address's bucket; false when it is empty. */
  take(address: string): boolean {
    const b = this.refilled(address);
    this.buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private refilled(address: string): Bucket {
    const t = this.now();
    const b = this.buckets.get(address) ?? { tokens: this.burst, at: t };
    return { tokens: Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond), at: t };
  }

  /** Forgets the buckets that are full again: they are the same as no bucket. */
  prune(): void {
    for (const address of [...this.buckets.keys()])
      if (this.refilled(address).tokens >= this.burst) this.buckets.delete(address);
  }

  get size(): number {
    return this.buckets.size;
  }
}

interface Failures {
  n: number;
  at: number;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Failures are forgotten this long after the last one. */
  windowMs: number;
}

/**
 * Refused logins per key (a user, an address): the k-th refusal of the most-failed key is answered after
 * 0, base, 2·base, 4·base … up to max. Only refusals wait; a right password is answered at once.
 */
export class LoginBackoff {
  private failures = new Map<string, Failures>();

  constructor(
    private o: BackoffOptions,
    private now: () => number = Date.now,
  ) {}

  /** Records a refusal for each key; returns how long to hold this refusal. */
  fail(keys: string[]): number {
    const t = this.now();
    let worst = 0;
    for (const k of keys) {
      const f = { n: this.count(k) + 1, at: t };
      this.failures.set(k, f);
      worst = Math.max(worst, f.n);
    }
    return this.delayOf(worst);
  }

  /** How long the next refusal for these keys would be held. */
  delay(keys: string[]): number {
    return this.delayOf(Math.max(0, ...keys.map((k) => this.count(k))) + 1);
  }

  private count(key: string): number {
    const f = this.failures.get(key);
    return f && this.now() - f.at <= this.o.windowMs ? f.n : 0;
  }

  private delayOf(k: number): number {
    return k <= 1 ? 0 : Math.min(this.o.maxMs, this.o.baseMs * 2 ** (k - 2));
  }

  prune(): void {
    for (const k of [...this.failures.keys()]) if (this.count(k) === 0) this.failures.delete(k);
  }

  get size(): number {
    return this.failures.size;
  }
}

/**
 * Runs at most `limit` tasks at once; the rest wait (their number is bounded by the caller), in arrival
 * order, or newest first with `lifo`: when waiters give up after a while, serving the newest means
 * serving one that still waits, where in arrival order a long queue would serve only those gone.
 */
export class Gate {
  private running = 0;
  private waiting: (() => void)[] = [];
  constructor(
    private limit: number,
    private lifo = false,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      (this.lifo ? this.waiting.pop() : this.waiting.shift())?.();
    }
  }
}
