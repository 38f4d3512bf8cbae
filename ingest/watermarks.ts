// Per-gateway watermarks (docs/protocol.md §6.3): the highest seq of the gateway's epoch with every lower seq
// durably written or announced as never coming. Envelopes may complete out of order (live data goes
// ahead of backlog replay), so completed ranges above the watermark wait here until the hole closes.

interface GatewayMark {
  ep: string;
  w: number;
  ranges: [number, number][];
}

/** Ranges held above a watermark, at most; past this the highest are forgotten and come back on re-publish. */
const MAX_RANGES = 10_000;

export class Watermarks {
  private marks = new Map<string, GatewayMark>();

  get(gw: string): { ep: string; seq: number } | undefined {
    const m = this.marks.get(gw);
    return m && { ep: m.ep, seq: m.w };
  }

  /** The gateways with a watermark (their own acks or those retained by other workers). */
  gateways(): IterableIterator<string> {
    return this.marks.keys();
  }

  /** Seeds a watermark from the retained ack/{gw} (never moves one backwards). */
  restore(gw: string, ep: string, seq: number): void {
    const m = this.marks.get(gw);
    if (!m || m.ep !== ep) this.marks.set(gw, { ep, w: seq, ranges: m?.ep === ep ? m.ranges : [] });
    else if (seq > m.w) {
      m.w = seq;
      this.advance(m);
    }
  }

  /**
   * Marks seqs from..to (inclusive) of gateway `gw`, epoch `ep`, as settled. Returns the new watermark
   * when it moved, else null. A new epoch (the gateway's outbox was recreated) starts from nothing.
   */
  settle(gw: string, ep: string, from: number, to: number): number | null {
    let m = this.marks.get(gw);
    if (!m || m.ep !== ep) {
      m = { ep, w: -1, ranges: [] };
      this.marks.set(gw, m);
    }
    if (to <= m.w) return null;
    const before = m.w;
    insertRange(m.ranges, [Math.max(from, m.w + 1), to]);
    if (m.ranges.length > MAX_RANGES) m.ranges.length = MAX_RANGES;
    this.advance(m);
    return m.w > before ? m.w : null;
  }

  private advance(m: GatewayMark): void {
    while (m.ranges.length && m.ranges[0]![0] <= m.w + 1) {
      m.w = Math.max(m.w, m.ranges[0]![1]);
      m.ranges.shift();
    }
  }

  /** Whether seq `seq` of epoch `ep` is settled (at or below the watermark, or in a range above it). */
  has(gw: string, ep: string, seq: number): boolean {
    const m = this.marks.get(gw);
    if (!m || m.ep !== ep) return false;
    if (seq <= m.w) return true;
    // Binary search over the sorted, disjoint ranges.
    let lo = 0,
      hi = m.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = m.ranges[mid]!;
      if (seq < a) hi = mid - 1;
      else if (seq > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Ranges waiting above the watermark (for status and tests). */
  pending(gw: string): [number, number][] {
    return this.marks.get(gw)?.ranges.map((r) => [...r] as [number, number]) ?? [];
  }
}

/** Inserts [from, to] into sorted disjoint ranges, merging overlapping and adjacent ones. */
export function insertRange(ranges: [number, number][], r: [number, number]): void {
  let [from, to] = r;
  let i = 0;
  while (i < ranges.length && ranges[i]![1] < from - 1) i++;
  let j = i;
  while (j < ranges.length && ranges[j]![0] <= to + 1) {
    from = Math.min(from, ranges[j]![0]);
    to = Math.max(to, ranges[j]![1]);
    j++;
  }
  ranges.splice(i, j - i, [from, to]);
}
