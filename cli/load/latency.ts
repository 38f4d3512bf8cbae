// Latency percentiles from a histogram of whole milliseconds: a long run acknowledges millions of
// records, and a fixed array keeps memory flat where a list of every value would not.

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class Histogram {
  private buckets: Uint32Array;
  private over = 0;
  count = 0;
  max = 0;

  /** Values at or above `limitMs` count in one overflow bucket (their percentile reads as `max`). */
  constructor(readonly limitMs = 600_000) {
    this.buckets = new Uint32Array(limitMs);
  }

  add(ms: number, n = 1): void {
    const v = Math.max(0, Math.round(ms));
    if (v < this.limitMs) this.buckets[v]! += n;
    else this.over += n;
    this.count += n;
    if (v > this.max) this.max = v;
  }

  /** The smallest value with at least fraction `q` of the values at or below it. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let v = 0; v < this.limitMs; v++) {
      seen += this.buckets[v]!;
      if (seen >= want) return v;
    }
    return this.max;
  }

  summary(): Percentiles {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.max,
    };
  }
}
