// Where each record's readings (`m`) lie in an envelope's bytes, so that ingest can copy their text into
// line protocol instead of turning every parsed number back into text. Only ever run on a payload that
// JSON.parse accepted, so it need not validate: it walks strings and nesting, nothing more.

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COMMA = 0x2c,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * For each of the `count` records of a valid envelope, the byte offsets of its `m` object: `[start, end)`
 * of `{…}` at `2k` and `2k + 1`. Null when the text does not show `count` records each with one `m`
 * (a key written with escapes, say): the caller then writes lines from the parsed records instead.
 */
export function readingSpans(p: Uint8Array, count: number): Int32Array | null {
  const spans = new Int32Array(2 * count);
  let i = skipSpace(p, 0);
  if (p[i] !== LBRACE) return null;
  i++;
  let found = false;
  for (;;) {
    i = skipSpace(p, i);
    if (i >= p.length) return null;
    if (p[i] === RBRACE) return found ? spans : null;
    if (p[i] === COMMA) i = skipSpace(p, i + 1);
    const key = i;
    i = skipString(p, i);
    const isRecords = i - key === 9 && isText(p, key + 1, 'records');
    i = skipSpace(p, skipSpace(p, i) + 1); // past the colon
    if (!isRecords) {
      i = skipValue(p, i);
      continue;
    }
    const end = recordSpans(p, i, spans, count);
    if (end < 0) return null;
    found = true;
    i = end;
  }
}

/** Fills `spans` from the records array at `i`; the offset past the array, or -1. */
function recordSpans(p: Uint8Array, i: number, spans: Int32Array, count: number): number {
  if (p[i] !== LBRACKET) return -1;
  i = skipSpace(p, i + 1);
  let k = 0;
  while (p[i] !== RBRACKET) {
    if (i >= p.length) return -1;
    if (p[i] === COMMA) i = skipSpace(p, i + 1);
    if (p[i] !== LBRACE || k === count) return -1;
    i = skipSpace(p, i + 1);
    let m = 0;
    while (p[i] !== RBRACE) {
      if (i >= p.length) return -1;
      if (p[i] === COMMA) i = skipSpace(p, i + 1);
      const key = i;
      i = skipString(p, i);
      const isM = i - key === 3 && p[key + 1] === 0x6d;
      i = skipSpace(p, skipSpace(p, i) + 1);
      const v = i;
      i = skipValue(p, i);
      if (isM) {
        m++;
        spans[2 * k] = v;
        spans[2 * k + 1] = i;
      }
      i = skipSpace(p, i);
    }
    if (m !== 1) return -1;
    k++;
    i = skipSpace(p, i + 1);
  }
  return k === count ? i + 1 : -1;
}

function isText(p: Uint8Array, at: number, s: string): boolean {
  for (let j = 0; j < s.length; j++) if (p[at + j] !== s.charCodeAt(j)) return false;
  return true;
}

function skipSpace(p: Uint8Array, i: number): number {
  while (i < p.length && isSpace(p[i]!)) i++;
  return i;
}

/** `i` at an opening quote; the offset past the closing one. */
function skipString(p: Uint8Array, i: number): number {
  for (i++; i < p.length; i++) {
    const c = p[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return i;
}

/** The offset past the value at `i`: a string, an object or array (with all it holds), or a literal. */
function skipValue(p: Uint8Array, i: number): number {
  const c = p[i];
  if (c === QUOTE) return skipString(p, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    for (; i < p.length; i++) {
      const d = p[i];
      if (d === QUOTE) i = skipString(p, i) - 1;
      else if (d === LBRACE || d === LBRACKET) depth++;
      else if ((d === RBRACE || d === RBRACKET) && --depth === 0) return i + 1;
    }
    return i;
  }
  while (i < p.length) {
    const d = p[i]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET || isSpace(d)) break;
    i++;
  }
  return i;
}
