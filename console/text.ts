// Text that fits a terminal: display width (CJK characters take two columns), cutting with an ellipsis,
// and tables whose columns shrink or drop by priority instead of wrapping.

/** Code point ranges a terminal draws two columns wide (East Asian Wide and Fullwidth). */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

function charWidth(cp: number): number {
  if (cp < 0x1100) return 1;
  return WIDE.some(([a, b]) => cp >= a && cp <= b) ? 2 : 1;
}

/** Columns the text takes on a terminal. */
export function width(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** The text cut to at most `max` columns, ending in "…" when something was cut. */
export function cut(s: string, max: number): string {
  if (width(s) <= max) return s;
  if (max <= 0) return '';
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

/** Padded with spaces (or cut) to exactly `n` columns. */
export function pad(s: string, n: number, right = false): string {
  const c = cut(s, n);
  const fill = ' '.repeat(Math.max(0, n - width(c)));
  return right ? fill + c : c + fill;
}

/** `a, b, c and 297 more`: a long list of names in one short phrase. */
export function someOf(names: readonly string[], shown = 3): string {
  if (names.length <= shown + 1) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

export interface Column {
  /** Right-aligned (numbers). */
  right?: boolean;
  /** Dropped when the table is too wide: higher drops first; undefined never drops. */
  drop?: number;
  /** Widest this column may get (names are cut with "…" beyond it). */
  max?: number;
  /** Narrowest it may be cut to when the table is too wide even after dropping columns. */
  min?: number;
}

/**
 * Lays out rows as columns two spaces apart within `total` columns. Too wide, the columns with the
 * highest `drop` go first, then columns with a `min` are cut down to it; what is still too wide is cut
 * at the end of the line.
 */
export function table(rows: string[][], cols: Column[], total: number, indent = '  '): string[] {
  const keep = cols.map(() => true);
  const widths = cols.map((c, i) => Math.min(c.max ?? Infinity, Math.max(0, ...rows.map((r) => width(r[i] ?? '')))));
  const used = () =>
    width(indent) + widths.reduce((s, w, i) => s + (keep[i] ? w : 0), 0) + 2 * (keep.filter(Boolean).length - 1);
  while (used() > total) {
    let worst = -1;
    cols.forEach((c, i) => {
      if (keep[i] && c.drop !== undefined && (worst < 0 || c.drop > cols[worst]!.drop!)) worst = i;
    });
    if (worst < 0) break;
    keep[worst] = false;
  }
  // Still too wide: narrow the columns that may be cut, widest first, one column at a time.
  for (let over = used() - total; over > 0; over = used() - total) {
    let widest = -1;
    cols.forEach((c, i) => {
      if (keep[i] && c.min !== undefined && widths[i]! > c.min && (widest < 0 || widths[i]! > widths[widest]!))
        widest = i;
    });
    if (widest < 0) break;
    widths[widest] = Math.max(cols[widest]!.min!, widths[widest]! - over);
  }
  return rows.map((r) =>
    cut(
      (
        indent +
        cols
          .map((c, i) => (keep[i] ? pad(r[i] ?? '', widths[i]!, c.right) : null))
          .filter((x) => x !== null)
          .join('  ')
      ).trimEnd(),
      total,
    ),
  );
}
