// The device list (with its filters) and one device's page: its site and state, 24-hour charts of its
// readings with their limits, the flags it sent and its alarm events. The page's data comes from the
// console server's API (device history, alarms of the device), read when the page is opened.
import type { DeviceReason, DeviceRow, DeviceState } from '../devices-view.ts';
import { decodeDeviceHistory, type DeviceHistory } from '../device-history.ts';
import { chartLimits } from '../limits.ts';
import type { CaptureRate, CaptureSummary } from '../capture.ts';
import type { Site } from '../sites.ts';
import { FLAG_MEANINGS, type ReadingView } from '../readings.ts';
import { when } from '../screen.ts';
import { num, unitOf } from '../units.ts';
import { decodeAlarmHistory, type StoredAlarmEvent } from '../../protocol/messages.ts';
import { beijingText, DAY } from '../../protocol/time.ts';
import { lineChart } from './chart.ts';
import { currentLang, FLAG_ZH, t, type Key } from './i18n.ts';
import { ageText, esc, eventsTable, fieldLabel, fieldOrder, table } from './render.ts';

const STATE_KEY: Record<DeviceState, Key> = {
  up: 'stUp',
  degraded: 'stDegraded',
  down: 'stDown',
  silent: 'stSilent',
  offline: 'stOffline',
  unknown: 'stUnknown',
};
export const stateText = (s: DeviceState): string => t(STATE_KEY[s]);

export function reasonText(r?: DeviceReason): string {
  if (!r) return '';
  const key = (
    { poll: 'whyPoll', flags: 'whyFlags', error: 'whyError', gateway: 'whyGateway', none: 'whyNone' } as const
  )[r.why];
  return t(key, { x: r.detail ?? '' });
}

const stateCell = (r: DeviceRow) => {
  const cls = { up: 'online', degraded: 'warn', down: 'bad', silent: 'warn', offline: 'bad', unknown: 'muted' }[
    r.state
  ];
  return `<span class="${cls}" data-state="${r.state}">${esc(stateText(r.state))}</span>`;
};

/** A capture rate as a percentage, marked when under the standards' threshold, its gaps on hover. */
export function captureCell(c: CaptureRate | undefined, period: 'hour' | 'day'): string {
  if (!c) return '–';
  const pct = `${Math.round(c.rate * 100)} %`;
  const title = t(period === 'hour' ? 'captureHourTitle' : 'captureDayTitle', {
    t: beijingText(c.start, true).slice(period === 'hour' ? 5 : 0, period === 'hour' ? 16 : 10),
    n: c.got,
    gaps: c.gaps || t('captureNoGaps'),
  });
  return `<span class="${c.valid ? 'online' : 'bad'}" data-capture="${period}" data-valid="${c.valid}" title="${esc(title)}">${pct}</span>`;
}

/** The device list; `stale` says whether a last-seen time is no longer current. */
export function devicesTable(
  rows: DeviceRow[],
  now: number,
  stale: (r: DeviceRow) => boolean,
  capture: CaptureSummary['devices'] = {},
): string {
  return table(
    [
      t('device'),
      t('district'),
      t('site'),
      t('kind'),
      t('gateway'),
      t('lastSeen'),
      t('state'),
      t('reason'),
      t('captureColumn'),
    ],
    rows.map((r) => ({
      attrs: `data-device="${esc(r.dev)}"${stale(r) ? ' class="stale"' : ''}`,
      cells: [
        `<a href="#dev=${encodeURIComponent(r.dev)}">${esc(r.dev)}</a>`,
        esc(r.district ?? ''),
        esc(r.site ?? ''),
        esc(r.kind ?? '–'),
        esc(r.gw ?? '–'),
        r.lastSeen
          ? `${when(r.lastSeen, now)} <span class="muted">(${esc(t('ago', { n: ageText(now - r.lastSeen) }))})</span>`
          : '–',
        stateCell(r) +
          (r.openAlarms ? ` · <span class="bad">${esc(t('openAlarmsN', { n: r.openAlarms }))}</span>` : ''),
        `<span class="reason">${esc(reasonText(r.reason))}</span>`,
        `${captureCell(capture[r.dev]?.hour, 'hour')} · ${captureCell(capture[r.dev]?.day, 'day')}`,
      ],
    })),
  );
}

/** One hour of the strip: its Beijing hour on a box coloured by its rate, the details on hover. */
function captureBox(c: CaptureRate): string {
  const title = t('captureHourTitle', {
    t: beijingText(c.start, true).slice(5, 16),
    n: c.got,
    gaps: c.gaps || t('captureNoGaps'),
  });
  const level = c.valid ? 'ok' : c.got > 0 ? 'low' : 'none';
  return `<span class="cap cap-${level}" data-capture="hour" data-valid="${c.valid}" title="${esc(title)}">${beijingText(c.start).slice(0, 2)}<small>${Math.round(c.rate * 100)}</small></span>`;
}

/** The span's hours as a strip of cells, one per hour, green when valid (≥ 45 minutes). */
export function captureStrip(hours: CaptureRate[]): string {
  if (!hours.length) return `<p class="muted" id="device-capture">${esc(t('captureNone'))}</p>`;
  const valid = hours.filter((h) => h.valid).length;
  const cells = hours.map((h) => captureBox(h)).join('');
  return `<p id="device-capture">${esc(t('captureSummary', { n: valid, of: hours.length }))}</p><p class="capture-strip">${cells}</p>`;
}

/** The options of one filter's select: "all" and each value, the current one selected. */
export function filterOptions(values: string[], current: string | undefined): string {
  const opts = current && !values.includes(current) ? [...values, current] : values;
  return [`<option value="">${esc(t('all'))}</option>`]
    .concat(opts.map((v) => `<option value="${esc(v)}"${v === current ? ' selected' : ''}>${esc(v)}</option>`))
    .join('');
}

/** What the device page shows, loaded once per device and span. */
export interface DevicePageData {
  dev: string;
  until: number;
  history?: DeviceHistory;
  alarms?: StoredAlarmEvent[];
  error?: string;
}

/** Reads the 24 hours up to `until` of a device from the console server's API. */
export async function loadDevicePage(
  dev: string,
  until: number,
  headers: Record<string, string>,
): Promise<DevicePageData> {
  const since = until - DAY;
  const get = async (path: string) => {
    const res = await fetch(path, { headers });
    const text = await res.text();
    if (!res.ok) throw new Error((JSON.parse(text) as { error?: string }).error ?? `HTTP ${res.status}`);
    return text;
  };
  try {
    const d = encodeURIComponent(dev);
    const [h, a] = await Promise.all([
      get(`api/device/${d}/history?since=${since}&until=${until}`),
      get(`api/alarms?since=${since}&until=${until}&dev=${d}&limit=200`),
    ]);
    return { dev, until, history: decodeDeviceHistory(h), alarms: decodeAlarmHistory(a).events };
  } catch (e) {
    return { dev, until, error: (e as Error).message };
  }
}

const stepText = (ms: number) =>
  ms < 60_000 ? `${ms / 1000} s` : ms < 3_600_000 ? `${ms / 60_000} min` : `${ms / 3_600_000} h`;
const flagMeaning = (f: string) => (currentLang() === 'zh' ? FLAG_ZH[f] : FLAG_MEANINGS[f]) ?? '';

/** The device's header: where it is, what it is and how it is. */
export function deviceHeader(
  row: DeviceRow | undefined,
  dev: string,
  reading: ReadingView | undefined,
  now: number,
): string {
  const r = row ?? ({ dev, state: 'unknown', openAlarms: 0 } as DeviceRow);
  const facts: [string, string][] = [
    [t('district'), esc(r.district ?? '–')],
    [t('site'), esc(r.site ?? '–')],
    [t('kind'), esc(r.kind ?? '–')],
    [t('gateway'), esc(r.gw ?? '–')],
    [t('lastSeen'), r.lastSeen ? `${when(r.lastSeen, now)} (${esc(t('ago', { n: ageText(now - r.lastSeen) }))})` : '–'],
    [t('state'), `${stateCell(r)} <span class="reason">${esc(reasonText(r.reason))}</span>`],
  ];
  const flags = Object.entries(reading?.f ?? {}).filter(([, f]) => f && f !== 'N');
  if (flags.length)
    facts.push([
      `${t('currentFlags')}: ${t('flags')}`,
      flags
        .map(
          ([k, f]) =>
            `${esc(fieldLabel(k))} <abbr class="flag flag-${esc(f)}" title="${esc(flagMeaning(f))}">${esc(f)}</abbr>`,
        )
        .join(', '),
    ]);
  return `<h2 id="device-title">${esc(dev)}</h2><dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** Charts, flags and alarms of the loaded span. */
export function deviceBody(
  p: DevicePageData,
  row: DeviceRow | undefined,
  site: Site | undefined,
  latest: boolean,
  now: number,
): string {
  const nav =
    `<p class="nav"><a href="#dev=${encodeURIComponent(p.dev)}&until=${p.until - DAY}">${esc(t('earlier'))}</a> · ` +
    `<span id="span-text">${esc(t('last24h', { t: beijingText(p.until, true).slice(0, 16) }))}</span>` +
    (latest
      ? ''
      : ` · <a href="#dev=${encodeURIComponent(p.dev)}&until=${p.until + DAY}">${esc(t('later'))}</a> · <a href="#dev=${encodeURIComponent(p.dev)}">${esc(t('latest'))}</a>`) +
    '</p>';
  if (p.error) return `${nav}<p class="bad" id="device-error">${esc(t('historyUnavailable', { error: p.error }))}</p>`;
  const h = p.history!;
  const kind = row?.kind;
  const limits = chartLimits(kind, site, p.until, p.alarms ?? []);
  const fields = Object.keys(h.fields).sort((a, b) => fieldOrder(a) - fieldOrder(b));
  const charts = fields.map((f) => {
    const unit = unitOf(f, kind);
    const l = limits[f];
    return lineChart({
      field: f,
      title: `${fieldLabel(f)}${unit ? ` (${unit})` : ''}`,
      since: h.since,
      until: h.until,
      points: h.fields[f]!,
      stepMs: h.step_ms,
      flags: h.flags[f] ?? [],
      flagText: (fl) => `${fl} ${flagMeaning(fl)}`,
      ...(l
        ? {
            limit: {
              value: l.value,
              text: t(l.min ? 'minLimitText' : 'limitText', { v: num(l.value), u: unit, src: l.source }),
            },
          }
        : {}),
    });
  });
  return (
    nav +
    `<h3>${esc(t('charts', { step: stepText(h.step_ms) }))}</h3>` +
    (charts.length ? `<div class="charts">${charts.join('')}</div>` : `<p class="muted">${esc(t('noHistory'))}</p>`) +
    `<h3>${esc(t('captureHeading'))}</h3>${captureStrip(h.capture)}` +
    `<h3>${esc(t('flags'))}</h3>${flagsTable(h)}` +
    `<h3>${esc(t('deviceAlarms'))}</h3><table id="device-alarms">${eventsTable(p.alarms ?? [], now)}</table>`
  );
}

/** Flagged buckets, as runs of consecutive buckets with the same flag. */
function flagsTable(h: DeviceHistory): string {
  const runs: { field: string; flag: string; from: number; to: number; n: number }[] = [];
  for (const [field, pts] of Object.entries(h.flags))
    for (const [ts, flag] of pts) {
      const last = runs[runs.length - 1];
      if (last && last.field === field && last.flag === flag && ts - last.to <= h.step_ms) {
        last.to = ts;
        last.n++;
      } else runs.push({ field, flag, from: ts, to: ts, n: 1 });
    }
  if (!runs.length) return `<p class="muted" id="device-flags">${esc(t('flagsNone'))}</p>`;
  return `<ul id="device-flags">${runs
    .map(
      (r) =>
        `<li data-flag="${esc(`${r.field} ${r.flag}`)}">${esc(
          t('flaggedBuckets', {
            f: fieldLabel(r.field),
            m: `${r.flag} (${flagMeaning(r.flag)})`,
            n: r.n,
            step: stepText(h.step_ms),
            from: beijingText(r.from, true).slice(5, 16),
            to: beijingText(r.to + h.step_ms, true).slice(5, 16),
          }),
        )}</li>`,
    )
    .join('')}</ul>`;
}
