// GET /api/device/{dev}/history?since=…&until=…[&step=…] (docs/protocol.md §10): one device's readings
// as bucket means over InfluxQL GROUP BY time, with explicit bounds (never now()), and the flag seen most
// per bucket. Real-time rows are preferred; a device that sends only interval data (HJ 212 minute or
// hour means) gets those.
import { DEVICE_KINDS } from '../protocol/kinds.ts';
import { captureHours } from './capture.ts';
import { devName, epochParam, HttpError, intParam } from './api-params.ts';
import { MAX_HISTORY_SPAN_MS, MAX_POINTS, stepFor, type DeviceHistory } from './device-history.ts';
import type { Influx, Series } from './influx.ts';

/** Every device measurement (docs/protocol.md §7.2): the server need not know the device's kind. */
const MEASUREMENTS = [...new Set(Object.values(DEVICE_KINDS))].map((m) => `"${m}"`).join(',');
/** Finer data first: a field seen in real-time rows is not taken again from interval means. */
const AGG_ORDER = ['', 'rt', 'min', 'hour', 'day'];
/** Columns that are bookkeeping, not readings. */
const NOT_READINGS = new Set(['seq']);

export async function deviceHistory(influx: Influx, rawDev: string, url: URL): Promise<DeviceHistory> {
  const dev = devName(rawDev);
  const since = epochParam(url, 'since');
  const until = epochParam(url, 'until');
  if (until <= since) throw new HttpError(400, `until (${until}) must be after since (${since})`);
  const span = until - since;
  if (span > MAX_HISTORY_SPAN_MS)
    throw new HttpError(400, `at most ${MAX_HISTORY_SPAN_MS / 86_400_000} days at a time`);
  const step = url.searchParams.has('step')
    ? intParam(url, 'step', Math.max(1000, Math.ceil(span / MAX_POINTS / 1000) * 1000), MAX_HISTORY_SPAN_MS)
    : stepFor(span);
  const where = `"dev" = '${dev}' AND time >= ${since}ms AND time < ${until}ms`;
  const group = `GROUP BY time(${step}ms),"agg" fill(none)`;
  const [means, flags, capture] = await Promise.all([
    influx.series(`SELECT mean(*) FROM ${MEASUREMENTS} WHERE ${where} ${group}`),
    influx.series(`SELECT mode(/_flag$/) FROM ${MEASUREMENTS} WHERE ${where} ${group}`),
    captureHours(influx, dev, since, until),
  ]);
  const out: DeviceHistory = { dev, since, until, step_ms: step, measurement: '', fields: {}, flags: {}, capture };
  for (const s of finestFirst(means)) {
    out.measurement ||= s.name;
    for (const [field, points] of columns(s, 'mean_'))
      if (!NOT_READINGS.has(field) && !out.fields[field]) out.fields[field] = points as [number, number][];
  }
  for (const s of finestFirst(flags))
    for (const [col, points] of columns(s, 'mode_')) {
      const field = col.replace(/_flag$/, '');
      if (!out.flags[field]) out.flags[field] = points as [number, string][];
    }
  return out;
}

const finestFirst = (ss: Series[]) =>
  [...ss].sort((a, b) => AGG_ORDER.indexOf(a.tags.agg ?? '') - AGG_ORDER.indexOf(b.tags.agg ?? ''));

/** The series' columns named `{prefix}{field}`, each as its non-null [time, value] points. */
function columns(s: Series, prefix: string): Map<string, [number, unknown][]> {
  const out = new Map<string, [number, unknown][]>();
  for (const r of s.rows)
    for (const [k, v] of Object.entries(r)) {
      if (!k.startsWith(prefix) || v === null || v === undefined) continue;
      const field = k.slice(prefix.length);
      if (!out.has(field)) out.set(field, []);
      out.get(field)!.push([r.time, typeof v === 'number' ? Math.round(v * 1000) / 1000 : v]);
    }
  return out;
}
