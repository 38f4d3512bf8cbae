// A small line chart as inline SVG, drawn here rather than by a library: a field's bucket means over
// the span, the axis in its unit, the limit as a dashed line, and the buckets that carried a flag
// marked along the bottom. Times on the axis are Beijing time, as operators read them.
import { BEIJING_OFFSET_MS, beijingText, HOUR, MINUTE } from '../../protocol/time.ts';

export interface ChartSpec {
  field: string;
  /** The axis title: the field's name and unit. */
  title: string;
  since: number;
  until: number;
  /** Bucket means: a gap wider than two steps breaks the line. */
  points: [number, number][];
  stepMs: number;
  flags?: [number, string][];
  limit?: { value: number; text: string };
  /** Tooltip of a flagged bucket. */
  flagText?: (flag: string) => string;
  width?: number;
  height?: number;
}

const M = { left: 60, right: 16, top: 14, bottom: 26 };
const TICK_STEPS = [1, 5, 15, 30].map((m) => m * MINUTE).concat([1, 2, 3, 6, 12, 24].map((h) => h * HOUR));
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const r1 = (x: number) => Math.round(x * 10) / 10;

/** 1, 2 or 5 times a power of ten: about `n` steps from 0 to `max`. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

/** A time tick: hh:mm, and the date (MM-DD) at Beijing midnight so a day's span shows where it turns. */
function tickLabel(t: number, step: number): string {
  const midnight = (t + BEIJING_OFFSET_MS) % (24 * HOUR) === 0;
  return midnight && step >= HOUR ? beijingText(t, true).slice(5, 10) : beijingText(t).slice(0, 5);
}

/** Numbers on the axis: no float noise (0.30000000000000004). */
const tickText = (v: number) => String(Number(v.toPrecision(6)));

export function lineChart(s: ChartSpec): string {
  const W = s.width ?? 640;
  const H = s.height ?? 190;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const values = s.points.map(([, v]) => v);
  // The axis always shows zero (a flue-gas pressure below it too), and the limit.
  const lo = Math.min(0, ...values);
  const top = Math.max(0, ...values, s.limit?.value ?? 0);
  const hi = top > lo ? top : lo + 1;
  const yStep = niceStep(hi - lo, 4);
  const y0 = Math.floor(lo / yStep) * yStep;
  // A little room above the highest value, unless that is the zero line.
  const y1 = Math.ceil((hi + (top > 0 ? (hi - lo) * 0.05 : 0)) / yStep) * yStep;
  const x = (t: number) => M.left + ((t - s.since) / (s.until - s.since)) * pw;
  const y = (v: number) => M.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  // Horizontal grid with values.
  for (let i = 0; y0 + i * yStep <= y1 + yStep / 2; i++) {
    const v = Number((y0 + i * yStep).toPrecision(12)); // no float noise: -2.8e-17 is 0
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${r1(y(v))}" y2="${r1(y(v))}"/>`,
      `<text class="tick" x="${M.left - 4}" y="${r1(y(v)) + 4}" text-anchor="end">${tickText(v)}</text>`,
    );
  }
  // Time ticks on whole Beijing hours (or minutes), about six across.
  const tStep = TICK_STEPS.find((d) => (s.until - s.since) / d <= 8) ?? 24 * HOUR;
  const first = Math.ceil((s.since + BEIJING_OFFSET_MS) / tStep) * tStep - BEIJING_OFFSET_MS;
  for (let t = first; t <= s.until; t += tStep)
    parts.push(
      `<line class="grid" x1="${r1(x(t))}" x2="${r1(x(t))}" y1="${M.top}" y2="${M.top + ph}"/>`,
      `<text class="tick" x="${r1(x(t))}" y="${H - 8}" text-anchor="middle">${tickLabel(t, tStep)}</text>`,
    );
  parts.push(
    `<text class="axis-title" transform="translate(12 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(s.title)}</text>`,
  );
  // The series, broken where buckets are missing.
  const runs: [number, number][][] = [];
  for (const p of s.points) {
    const run = runs[runs.length - 1];
    if (run && p[0] - run[run.length - 1]![0] <= 2 * s.stepMs) run.push(p);
    else runs.push([p]);
  }
  for (const run of runs)
    parts.push(
      run.length === 1
        ? `<circle class="series" cx="${r1(x(run[0]![0]))}" cy="${r1(y(run[0]![1]))}" r="2"/>`
        : `<polyline class="series" points="${run.map(([t, v]) => `${r1(x(t))},${r1(y(v))}`).join(' ')}"/>`,
    );
  if (s.limit) {
    const ly = r1(y(s.limit.value));
    parts.push(
      `<line class="limit" data-limit="${s.limit.value}" x1="${M.left}" x2="${W - M.right}" y1="${ly}" y2="${ly}"/>`,
      `<text class="limit-text" x="${W - M.right - 4}" y="${ly - 4}" text-anchor="end">${esc(s.limit.text)}</text>`,
    );
  }
  const bw = Math.max(2, (s.stepMs / (s.until - s.since)) * pw);
  for (const [t, f] of s.flags ?? [])
    parts.push(
      `<rect class="flagged flag-${esc(f)}" data-flag="${esc(f)}" x="${r1(x(t))}" y="${M.top + ph - 5}" width="${r1(bw)}" height="5"><title>${esc(`${beijingText(t)} ${s.flagText?.(f) ?? f}`)}</title></rect>`,
    );
  parts.push(`<rect class="frame" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/>`);
  return `<svg class="chart" data-chart="${esc(s.field)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(s.title)}">${parts.join('')}</svg>`;
}
