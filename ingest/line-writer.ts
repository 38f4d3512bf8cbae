// An envelope's lines, written as UTF-8 into one buffer as they are made: no string per line for the
// garbage collector to copy, and no second pass to turn strings into bytes for the sink.

export class LineWriter {
  private buf: Buffer;
  /** Where this writer's bytes begin in `buf`, and the end of the room it holds there. */
  private base: number;
  private limit: number;
  /** The offset in `buf` where the next line starts. */
  at: number;
  private ends: Uint32Array;
  private count = 0;

  constructor(bytesHint: number, linesHint: number) {
    const n = Math.max(256, bytesHint);
    const c = claim(n);
    this.buf = c.buf;
    this.base = this.at = c.start;
    this.limit = c.start + n;
    this.ends = new Uint32Array(Math.max(8, linesHint));
  }

  get lines(): number {
    return this.count;
  }

  /** The buffer to write the next `n` bytes into, from `this.at`. */
  room(n: number): Buffer {
    if (this.at + n > this.limit) {
      const size = Math.max((this.limit - this.base) * 2, this.at - this.base + n);
      const bigger = Buffer.allocUnsafeSlow(size);
      this.buf.copy(bigger, 0, this.base, this.at);
      this.buf = bigger;
      this.at -= this.base;
      this.base = 0;
      this.limit = size;
    }
    return this.buf;
  }

  /** Ends the line written up to `to` (exclusive) with a newline. */
  endLine(to: number): void {
    this.buf[to] = 0x0a;
    this.at = to + 1;
    if (this.count === this.ends.length) {
      const more = new Uint32Array(this.count * 2);
      more.set(this.ends);
      this.ends = more;
    }
    this.ends[this.count++] = this.at - this.base;
  }

  /** A line given as text (it holds no newline: line protocol escapes them). */
  text(line: string): void {
    const buf = this.room(line.length * 3 + 1);
    this.endLine(this.at + buf.write(line, this.at));
  }

  /** The lines, each followed by a newline, and the offset just past each. Nothing is written after. */
  done(): { text: Buffer; ends: Uint32Array } {
    // The room left over goes back, so the next writer's lines follow these with no gap: the sink sends
    // lines that lie side by side without copying them together.
    if (this.buf === slab && top === this.limit) top = this.at;
    return { text: this.buf.subarray(this.base, this.at), ends: this.ends.subarray(0, this.count) };
  }
}

// Writers take their room from a shared slab, as Node's Buffer pool does, but one sized for envelopes:
// a pool of 8 KiB is used up every few small envelopes, and making a new one costs more than the lines.
const SLAB = 1 << 20;
let slab = Buffer.allocUnsafeSlow(SLAB);
let top = 0;

function claim(n: number): { buf: Buffer; start: number } {
  if (n > SLAB / 8) return { buf: Buffer.allocUnsafeSlow(n), start: 0 };
  if (top + n > SLAB) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    top = 0;
  }
  const start = top;
  top += n;
  return { buf: slab, start };
}

/** Writes a non-negative safe integer's digits at `at`; returns the offset past them. */
export function writeDigits(buf: Buffer, at: number, n: number): number {
  // Below 2^31 the digits come from int arithmetic; above (epoch ms), from two such halves.
  if (n < 1e9) return writeSmall(buf, at, n, 0);
  const high = Math.floor(n / 1e9);
  return writeSmall(buf, writeDigits(buf, at, high), n - high * 1e9, 9);
}

/** `n` < 1e9, at least `width` digits (zero-padded). */
function writeSmall(buf: Buffer, at: number, n: number, width: number): number {
  let len = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) len++;
  if (len < width) len = width;
  for (let j = at + len - 1; j >= at; j--) {
    const q = (n / 10) | 0;
    buf[j] = 48 + n - q * 10;
    n = q;
  }
  return at + len;
}
