// The `watch` screen: the network view drawn to fit a terminal (80×24 unless told otherwise). Nothing
// wraps: lines are laid out in columns that drop by priority and are cut at the edge, and each section
// gets rows by priority (open alarms, then gateways, air quality, events), summing up what does not fit.
import { beijing, type EventView, type GatewayView, type NetworkView, type OpenAlarmView } from './network-view.ts';
import { cut, someOf, table, width, type Column } from './text.ts';
import { backText, exceedance, exceedanceText, num } from './units.ts';
import { beijingDayStart, HOUR } from '../protocol/time.ts';

export interface ScreenHeader {
  title: string;
  state: string;
  broker: string;
}

export interface ScreenSize {
  columns?: number;
  rows?: number;
}

/** A section: its title row (which heads the columns) and its items, most important first. */
interface Section {
  title: string[];
  cols: Column[];
  /** Each item's main row, and detail lines shown only when there is room. */
  items: { row: string[]; details: string[] }[];
  /** Rows allotted. */
  rows: number;
}

/** Time of day when it is today (Beijing), else the date too. */
export function when(ts: number, now: number): string {
  return beijingDayStart(ts) === beijingDayStart(now) ? beijing(ts) : beijing(ts, true).slice(5, 16);
}

const hourSpan = (hour: number, now: number) => `${when(hour, now).slice(0, -3)}–${beijing(hour + HOUR).slice(0, 5)}`;

/** The screen as lines, at most `rows` of them, none wider than `columns`. */
export function renderView(v: NetworkView, now: number, head: ScreenHeader, size: ScreenSize = {}): string[] {
  const columns = Math.max(20, size.columns ?? 80);
  const rows = Math.max(5, size.rows ?? 24);
  const sections = [alarmSection(v, now), gatewaySection(v), airSection(v, now), eventSection(v, now)];
  allot(sections, rows - 1);
  const out = [headerLine(head, now, columns)];
  const spare = rows - 1 - sections.reduce((s, x) => s + x.rows, 0);
  // Blank lines between sections only when every section got all it wanted and there is room left.
  const gaps = spare >= sections.length - 1 && sections.every((s) => s.rows >= need(s, true));
  for (const s of [sections[1]!, sections[0]!, sections[2]!, sections[3]!]) {
    if (gaps && out.length > 1) out.push('');
    out.push(...draw(s, columns));
  }
  return out.slice(0, rows);
}

function headerLine(h: ScreenHeader, now: number, columns: number): string {
  const right = `${beijing(now, true).slice(5)} Beijing`; // no year: the header must fit 80 columns
  const left = `${h.title} · ${h.state} · ${h.broker}`;
  const room = columns - width(right) - 2;
  if (room < 10) return cut(right, columns);
  const l = cut(left, room);
  return l + ' '.repeat(columns - width(l) - width(right)) + right;
}

/** Rows a section wants: title, items, and (with details) their detail lines. */
const need = (s: Section, details: boolean) =>
  1 + s.items.reduce((n, i) => n + 1 + (details ? i.details.length : 0), 0);

/**
 * Rows for each section (given in priority order): a title and up to two rows each; then open alarms up
 * to half the screen, gateways with their details, air quality and events; then whatever is left, in
 * the same order.
 */
function allot(sections: Section[], total: number): void {
  let left = total;
  const give = (s: Section, want: number) => {
    const more = Math.max(0, Math.min(left, want - s.rows));
    s.rows += more;
    left -= more;
  };
  for (const s of sections) give(s, Math.min(need(s, false), 3));
  sections.forEach((s, i) => give(s, i === 0 ? Math.min(need(s, true), total >> 1) : need(s, true)));
  for (const s of sections) give(s, need(s, true));
}

/** A section in its rows: each item's row, details while rows are spare, then "… and N more". */
function draw(s: Section, columns: number): string[] {
  if (s.rows === 0) return [];
  if (s.items.length === 0) return [cut(s.title[0]!, columns)];
  const [title, ...body] = table(
    [s.title, ...s.items.map((i) => ['  ' + i.row[0], ...i.row.slice(1)])],
    s.cols,
    columns,
    '',
  );
  const room = s.rows - 1;
  let spare = room - s.items.length;
  const lines: { text: string; main: boolean }[] = [];
  s.items.forEach((item, i) => {
    lines.push({ text: body[i]!, main: true });
    for (const d of item.details.slice(0, Math.max(0, spare)))
      lines.push({ text: cut(`      ${d}`, columns), main: false });
    spare -= Math.min(Math.max(0, spare), item.details.length);
  });
  if (lines.length <= room) return [title!, ...lines.map((l) => l.text)];
  const shown = lines.slice(0, room - 1);
  const hidden = s.items.length - shown.filter((l) => l.main).length;
  return [title!, ...shown.map((l) => l.text), `  … and ${hidden} more`];
}

function gatewaySection(v: NetworkView): Section {
  const gws = [...v.gateways.values()].sort((a, b) => trouble(b) - trouble(a) || a.gw.localeCompare(b.gw));
  return {
    title: [`GATEWAYS (${gws.length})`, 'state', 'up', 'degr', 'down', 'push', 'silent', 'outbox', 'clock'],
    cols: [
      { max: 26, min: 10 },
      {},
      { right: true },
      { right: true },
      { right: true },
      { right: true, drop: 2 },
      { right: true, drop: 3 },
      { right: true, drop: 1 },
      { right: true, drop: 4 },
    ],
    items: gws.map((g) => ({
      row: [
        g.gw,
        g.state,
        String(g.up),
        String(g.degraded),
        String(g.down.length),
        g.pushing ? String(g.pushing) : '-',
        g.pushing ? String(g.silent.length) : '-',
        `${g.outbox ?? '-'}${g.evicted ? ` (${g.evicted} evicted)` : ''}`,
        g.clockOffsetMs === undefined ? '-' : `${g.clockOffsetMs >= 0 ? '+' : ''}${g.clockOffsetMs} ms`,
      ],
      details: gatewayDetails(g),
    })),
    rows: 0,
  };
}

/** Offline gateways first, then those with devices down, degraded, silent or short of capture. */
const trouble = (g: GatewayView) =>
  (g.state === 'offline' ? 8 : 0) +
  (g.down.length ? 4 : 0) +
  (g.degraded ? 2 : 0) +
  (g.silent.length || g.shortCapture.length ? 1 : 0);

/** The devices behind the counts, a few by name each. */
export function gatewayDetails(g: GatewayView): string[] {
  const out: string[] = [];
  if (g.down.length) out.push(`down: ${someOf(g.down.map((d) => d.dev))} — ${g.down[0]!.error}`);
  if (g.degradedDevs.length) out.push(`degraded: ${someOf(g.degradedDevs)}`);
  if (g.silent.length) out.push(`silent 10 min: ${someOf(g.silent)}`);
  if (g.shortCapture.length) out.push(`capture under 45/60: ${someOf(g.shortCapture)}`);
  return out;
}

function alarmSection(v: NetworkView, now: number): Section {
  const open = v.openAlarms();
  return {
    title: [`OPEN ALARMS (${open.length})`, 'rule', 'field', 'since', 'value vs limit', 'peak'],
    cols: [{ max: 26, min: 10 }, { max: 24, min: 8 }, { max: 16, min: 6 }, { drop: 1 }, {}, { drop: 2 }],
    items: open.map((a) => ({ row: alarmRow(a, now), details: [] })),
    rows: 0,
  };
}

const alarmRow = (a: OpenAlarmView, now: number) => [
  a.dev,
  a.rule,
  a.field,
  when(a.since, now),
  exceedanceText(exceedance(a.rule, a.field, a.value, a.limit, a.kind)),
  num(a.peak),
];

function airSection(v: NetworkView, now: number): Section {
  const air = [...v.aqi.values()].sort((a, b) => (b.aqi ?? -1) - (a.aqi ?? -1));
  return {
    title: [`AIR QUALITY (${air.length})`, 'hour', 'AQI', 'category', 'primary', '24 h', 'warning'],
    cols: [{ max: 26, min: 10 }, {}, { right: true }, { drop: 1 }, { drop: 2 }, { right: true, drop: 3 }, { drop: 4 }],
    items: air.map((a) => ({
      row: [
        a.dev,
        hourSpan(a.hour, now),
        a.aqi === null ? 'NA' : String(a.aqi),
        a.category ?? '',
        a.primary?.join(',') || '-',
        a.aqi24 === undefined || a.aqi24 === null ? '-' : String(a.aqi24),
        a.warning ?? '-',
      ],
      details: [],
    })),
    rows: 0,
  };
}

function eventSection(v: NetworkView, now: number): Section {
  return {
    title: ['EVENTS', 'state', 'device', 'rule', 'field', 'value vs limit', ''],
    cols: [{}, {}, { max: 24, min: 8 }, { max: 24, min: 6 }, { max: 16, min: 6 }, {}, { drop: 1 }],
    items: v.events.map((e) => ({ row: eventRow(e, now), details: [] })),
    rows: 0,
  };
}

const eventRow = (e: EventView, now: number) => [
  when(e.ts, now),
  e.state,
  e.dev,
  e.rule,
  e.field,
  eventWhat(e),
  e.attrs?.plate ? `plate ${e.attrs.plate}` : '',
];

/** The event's value against its limit, or for a close what it came back to. */
export function eventWhat(e: EventView, lang: 'en' | 'zh' = 'en'): string {
  const x = exceedance(e.rule, e.field, e.value, e.limit, e.kind);
  return e.state === 'close' ? backText(x, lang) : exceedanceText(x, lang);
}

/** One line per alarm event, for a log or a pipe. */
export function eventLine(e: EventView): string {
  const who = e.attrs?.plate ? `  plate ${e.attrs.plate}` : '';
  return `${beijing(e.ts, true)}  ${e.state.padEnd(6)} ${e.dev}  ${e.rule}  ${e.field}  ${eventWhat(e)}${who}`;
}
