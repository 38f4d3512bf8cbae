// The console's tables as HTML, from the network view: a heading for every column, units on every
// quantity, HJ 212 flags on the values they mark, HJ 633 colours on AQIs.
import type { AqiView, EventView, GatewayView, NetworkView, OpenAlarmView } from '../network-view.ts';
import { beijing } from '../network-view.ts';
import { FLAG_MEANINGS, PROVISIONAL_MIN_MINUTES, type ProvisionalAqi, type ReadingView } from '../readings.ts';
import { eventWhat, when } from '../screen.ts';
import { someOf } from '../text.ts';
import { exceedance, exceedanceText, fieldName, LEVEL_RGB, num, unitOf } from '../units.ts';
import { POLLUTANTS } from '../../protocol/pollutants.ts';
import { HOUR } from '../../protocol/time.ts';
import { LEVELS } from '../../standards/aqi-tables.ts';
import { CLASS_NAMES } from '../../standards/water.ts';
import type { Standing } from '../limits.ts';
import { currentLang, FIELD_ZH, FLAG_ZH, said, SUFFIX_ZH, t, type Key } from './i18n.ts';
import { parseFieldName } from '../../protocol/pollutants.ts';

export const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface Row {
  cells: string[];
  /** Attributes of the <tr>, already escaped (class, data-*). */
  attrs?: string;
}

/** A table with a heading for each column; "none" across it when it has no rows. */
export function table(head: string[], rows: Row[]): string {
  const th = `<thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>`;
  const body = rows.length
    ? rows.map((r) => `<tr${r.attrs ? ' ' + r.attrs : ''}>${r.cells.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    : [`<tr><td class="muted" colspan="${head.length}">${t('none')}</td></tr>`];
  return `${th}<tbody>${body.join('')}</tbody>`;
}

/** A field's name in the current language: the registry's, or its Chinese name and statistic. */
export function fieldLabel(field: string): string {
  const p = parseFieldName(field);
  if (currentLang() !== 'zh' || !p || !FIELD_ZH[p.key]) return fieldName(field);
  return FIELD_ZH[p.key] + (p.suffix ? ` ${SUFFIX_ZH[p.suffix]}` : '');
}

/** A reading's column heading: its name and unit (`SO2 (mg/m³)`), the field key in the tooltip. */
const fieldHead = (field: string, kind: string) => {
  const unit = unitOf(field, kind);
  return `<span title="${esc(field)}">${esc(fieldLabel(field))}${unit ? ` <span class="unit">(${esc(unit)})</span>` : ''}</span>`;
};

/** A list of names in a cell: a few shown, all in the tooltip. */
const names = (xs: string[], cls = 'bad') =>
  xs.length ? `<span class="${cls}" title="${esc(xs.join(', '))}">${esc(someOf(xs))}</span>` : '0';

export const word = (k: string) =>
  k in { online: 1, offline: 1, open: 1, update: 1, close: 1, event: 1 } ? t(k as Key) : k;

/** Gateways; `stale` says whether a status of that time is no longer current. */
export function gatewaysTable(v: NetworkView, now: number, stale: (ts: number) => boolean = () => false): string {
  const gws = [...v.gateways.values()].sort((a, b) => a.gw.localeCompare(b.gw));
  return table(
    [
      t('gateway'),
      t('state'),
      t('up'),
      t('degraded'),
      t('down'),
      t('pushing'),
      t('silent'),
      t('outbox'),
      t('clockOffset'),
      t('statusAt'),
    ],
    gws.map((g) => gatewayRow(g, now, g.ts === undefined || stale(g.ts))),
  );
}

function gatewayRow(g: GatewayView, now: number, stale: boolean): Row {
  const down = g.down.map((d) => `${d.dev}: ${d.error}`);
  return {
    attrs: `data-gw="${esc(g.gw)}"${stale ? ' class="stale"' : ''}`,
    cells: [
      esc(g.gw),
      `<span class="${esc(g.state)}">${esc(word(g.state))}</span>`,
      String(g.up),
      g.degradedDevs.length ? `${g.degraded}: ${names(g.degradedDevs, 'warn')}` : '0',
      g.down.length
        ? `${g.down.length}: <span class="bad" title="${esc(down.join('\n'))}">${esc(someOf(g.down.map((d) => d.dev)))}</span>`
        : '0',
      g.pushing ? String(g.pushing) : '–',
      g.pushing ? (g.silent.length ? `${g.silent.length}: ${names(g.silent)}` : '0') : '–',
      `${g.outbox ?? '–'}${g.evicted ? ` <span class="bad">(${g.evicted} evicted)</span>` : ''}`,
      g.clockOffsetMs === undefined ? '–' : `${g.clockOffsetMs >= 0 ? '+' : ''}${g.clockOffsetMs}`,
      g.ts ? when(g.ts, now) : '–',
    ],
  };
}

/** Open alarms; `extra` adds columns (the acknowledgement) per alarm. */
export function alarmsTable(
  alarms: OpenAlarmView[],
  now: number,
  extra?: { head: string[]; cells: (a: OpenAlarmView) => string[] },
): string {
  return table(
    [t('device'), t('kind'), t('rule'), t('field'), t('since'), t('valueVsLimit'), t('peak'), ...(extra?.head ?? [])],
    alarms.map((a) => ({
      attrs: `data-alarm="${esc(alarmKey(a))}"`,
      cells: [
        esc(a.dev),
        esc(a.kind),
        esc(a.rule),
        esc(fieldLabel(a.field)),
        when(a.since, now),
        `<span class="bad">${esc(exceedanceText(exceedance(a.rule, a.field, a.value, a.limit, a.kind), currentLang()))}</span>`,
        esc(peakText(a)),
        ...(extra?.cells(a) ?? []),
      ],
    })),
  );
}

/** The alarm's identity: device, rule, field and when it began. */
export const alarmKey = (a: { dev: string; rule: string; field: string; since: number }): string =>
  `${a.dev}|${a.rule}|${a.field}|${a.since}`;

function peakText(a: OpenAlarmView): string {
  const x = exceedance(a.rule, a.field, a.peak, a.limit, a.kind);
  return x.noun ? num(a.peak) : `${num(a.peak)}${x.unit ? ' ' + x.unit : ''}`;
}

export function eventsTable(events: EventView[], now: number): string {
  return table(
    [t('time'), t('state'), t('device'), t('rule'), t('field'), t('valueVsLimit'), t('vehicle')],
    events.map((e) => ({
      attrs: `data-event="${esc(`${alarmKey(e)}|${e.state}|${e.ts}`)}"`,
      cells: [
        when(e.ts, now),
        `<span class="${esc(e.state)}">${esc(word(e.state))}</span>`,
        esc(e.dev),
        esc(e.rule),
        esc(fieldLabel(e.field)),
        esc(eventWhat(e, currentLang())),
        esc([e.attrs?.plate, e.attrs?.fuel].filter(Boolean).join(' · ')),
      ],
    })),
  );
}

const ORDER = new Map(POLLUTANTS.map((p, i) => [p.key, i]));
export const fieldOrder = (f: string) =>
  (ORDER.get(f.replace(/_(zs|min|max|avg|cou|zsmin|zsavg|zsmax)$/, '')) ?? 999) * 10 + f.length;

/** One table per device kind, a column per field any device of the kind reports. */
/** How a reading's limited fields stand against their limits (none: nothing to show). */
export type StandingsOf = (r: ReadingView) => Record<string, Standing>;

export function readingsTables(
  v: NetworkView,
  now: number,
  stale: (r: ReadingView) => boolean,
  standingsOf: StandingsOf = () => ({}),
): string {
  const byKind = new Map<string, ReadingView[]>();
  for (const r of v.readings.byDev.values()) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  if (!byKind.size) return `<p class="muted">${t('none')}</p>`;
  return [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([kind, rs]) =>
        `<h3>${esc(kind)} (${rs.length})</h3><table data-kind="${esc(kind)}">${kindTable(kind, rs, now, stale, standingsOf)}</table>`,
    )
    .join('');
}

function kindTable(
  kind: string,
  rs: ReadingView[],
  now: number,
  stale: (r: ReadingView) => boolean,
  standingsOf: StandingsOf,
): string {
  const fields = [...new Set(rs.flatMap((r) => Object.keys(r.m)))].sort((a, b) => fieldOrder(a) - fieldOrder(b));
  const rsd = rs.some((r) => r.a?.plate || r.verdict);
  const water = rs.some((r) => r.water);
  const head = [
    t('device'),
    t('sampleTime'),
    t('every'),
    ...(water ? [t('waterClass')] : []),
    ...fields.map((f) => fieldHead(f, kind)),
    ...(rsd ? [t('plate'), t('fuel'), t('verdict')] : []),
  ];
  return table(
    head,
    rs
      .sort((a, b) => a.dev.localeCompare(b.dev))
      .map((r) => {
        const standing = standingsOf(r);
        return {
          attrs: `data-dev="${esc(r.dev)}"${stale(r) ? ' class="stale"' : ''}`,
          cells: [
            esc(r.dev),
            `${when(r.ts, now)}${stale(r) ? ` <span class="muted">(${esc(t('ago', { n: ageText(now - r.ts) }))})</span>` : ''}`,
            r.cadenceMs === undefined ? '–' : cadenceText(r.cadenceMs),
            ...(water ? [waterCell(r)] : []),
            ...fields.map((f) => valueCell(r, f, standing[f])),
            ...(rsd ? [esc(r.a?.plate ?? ''), esc(r.a?.fuel ?? ''), verdictText(r)] : []),
          ],
        };
      }),
  );
}

/** A section's class now against its target: red when worse. */
function waterCell(r: ReadingView): string {
  const w = r.water;
  if (!w) return '–';
  const worse = w.n > CLASS_NAMES.indexOf(w.target as (typeof CLASS_NAMES)[number]) + 1;
  const title = t('waterClassTitle', { worst: w.worst.map(fieldLabel).join(', ') || '–' });
  return `<span class="${worse ? 'bad' : 'online'}" data-water-class="${esc(w.class)}" title="${esc(title)}">${esc(t('classVsTarget', { c: w.class, target: w.target }))}</span>`;
}

/** How old a reading is, in the unit that reads best. */
export const ageText = (ms: number): string =>
  ms < 120_000
    ? `${Math.max(0, Math.round(ms / 1000))} s`
    : ms < 2 * HOUR
      ? `${Math.round(ms / 60_000)} min`
      : `${Math.round(ms / HOUR)} h`;

const cadenceText = (ms: number) =>
  ms < 60_000 ? `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s` : `${Number((ms / 60_000).toFixed(1))} min`;

/** A reading's share of its limit: amber from 80 %, red past it; what it was held against on hover. */
function shareText(st: Standing, kind: string): string {
  const pct = Math.round(st.share * 100);
  const cls = st.share > 1 ? 'bad' : st.share >= 0.8 ? 'warn' : 'muted';
  const unit = unitOf(st.field, kind);
  const title = t(st.limit.min ? 'standingMinTitle' : 'standingTitle', {
    v: num(st.judged),
    u: unit,
    l: num(st.limit.value),
    src: st.limit.source,
    o2: st.converted ? t('standingConverted') : '',
  });
  return ` <span class="share ${cls}" data-share="${esc(st.field)}" title="${esc(title)}">${pct} %</span>`;
}

function valueCell(r: ReadingView, f: string, st?: Standing): string {
  const v = r.m[f];
  if (v === undefined) return '–';
  const flag = r.f[f];
  const shown = `<span data-field="${esc(f)}">${esc(num(v))}</span>${st ? shareText(st, r.kind) : ''}`;
  if (!flag || flag === 'N') return shown;
  const meaning = (currentLang() === 'zh' ? FLAG_ZH[flag] : FLAG_MEANINGS[flag]) ?? '';
  return `${shown} <abbr class="flag flag-${esc(flag)}" title="${esc(t('flagTitle', { f: flag, m: meaning }))}">${esc(flag)}</abbr>`;
}

function verdictText(r: ReadingView): string {
  const v = r.verdict;
  if (!v) return '';
  if (!v.judged) return `<span class="muted">${esc(t('notJudged', { x: v.why ?? '' }))}</span>`;
  return v.over?.length
    ? `<span class="bad">${esc(t('over', { x: v.over.map(fieldLabel).join(', ') }))}</span>`
    : t('judged');
}

/** Air quality: the latest closed hour from ingest, and the open hour as far as this page can tell. */
export function airTable(v: NetworkView, now: number, stale: (dev: string) => boolean = () => false): string {
  const devs = new Set([...v.aqi.keys(), ...[...v.readings.byDev.values()].filter(isAir).map((r) => r.dev)]);
  const rows = [...devs]
    .map((dev) => ({ dev, a: v.aqi.get(dev) }))
    .sort((x, y) => (y.a?.aqi ?? -1) - (x.a?.aqi ?? -1) || x.dev.localeCompare(y.dev));
  return table(
    [t('device'), t('closedHour'), t('aqi'), t('category'), t('primary'), t('aqi24'), t('warning'), t('openHour')],
    rows.map(({ dev, a }) => ({
      attrs: `data-aqi="${esc(dev)}"${stale(dev) ? ' class="stale"' : ''}`,
      cells: [
        esc(dev),
        ...(a ? closedHourCells(a, now) : [`<span class="muted">${t('noHourYet')}</span>`, '', '', '', '', '']),
        provisionalCell(v.readings.provisional(dev), now),
      ],
    })),
  );
}

const isAir = (r: ReadingView) => r.kind.startsWith('air.');

function closedHourCells(a: AqiView, now: number): string[] {
  return [
    hourSpan(a.hour, now),
    aqiBadge(a.aqi, a.level),
    esc(categoryText(a)),
    esc(a.primary?.join(', ') || '–'),
    a.aqi24 === undefined || a.aqi24 === null ? '–' : String(a.aqi24),
    esc(a.warning ? said(a.warning) : '–'),
  ];
}

const hourSpan = (hour: number, now: number) => `${when(hour, now).slice(0, -3)}–${beijing(hour + HOUR).slice(0, 5)}`;

function aqiBadge(aqi: number | null, level?: number): string {
  // Dark text on the light colours (levels 1–3), light text on red, purple and maroon.
  const ink = (level ?? 0) >= 4 ? '#fff' : '#111';
  return `<span class="aqi" style="background:${LEVEL_RGB[(level ?? 0) - 1] ?? '#888'};color:${ink}">${aqi ?? 'NA'}</span>`;
}

function categoryText(a: AqiView): string {
  const l = LEVELS.find((x) => x.level === a.level);
  return currentLang() === 'en' && l ? l.en : (a.category ?? '–');
}

function provisionalCell(p: ProvisionalAqi | undefined, now: number): string {
  if (!p || p.why === 'none') return `<span class="muted">${t('provNone')}</span>`;
  if (p.why === 'edition') return `<span class="muted">${t('provEdition')}</span>`;
  if (p.why === 'late') return `<span class="muted">${t('provLate')}</span>`;
  if (p.why === 'short')
    return `<span class="muted">${t('provShort', { n: p.minutes, min: PROVISIONAL_MIN_MINUTES })}</span>`;
  const span = t('provisional', {
    from: when(p.hour, now).slice(0, -3),
    to: beijing(p.until).slice(0, 5),
    n: p.minutes,
  });
  return `<span class="provisional">${aqiBadge(p.aqi, p.level)} ${esc(span)}</span>`;
}

export const aqiNote = (): string => esc(t('aqiNote', { min: PROVISIONAL_MIN_MINUTES }));
