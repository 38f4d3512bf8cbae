// The data-capture rates ingest writes (docs/protocol.md §7.9), as the console serves them: the latest
// closed hour and day of every device (GET /api/capture), and a device's hours (with its history).
// Shared by the console server, which builds them, and the page, which draws them.
import { epochParam, HttpError } from './api-params.ts';
import type { Influx } from './influx.ts';

export interface CaptureRate {
  /** Start of the hour, or of the Beijing day. */
  start: number;
  /** Minutes with a valid sample of 60, or valid hours of 24. */
  got: number;
  rate: number;
  /** At or above the standards' threshold (45 minutes an hour, 20 hours a day). */
  valid: boolean;
  /** Missing minutes (`09:20-09:39`) or invalid hours (`05,06`) on a Beijing clock. */
  gaps: string;
}

export interface CaptureSummary {
  devices: Record<string, { hour?: CaptureRate; day?: CaptureRate }>;
}

const FIELDS = 'got, rate, valid, gaps';

/** GET /api/capture?since=…&until=…: each device's latest closed hour and day that begin in the span. */
export async function captureSummary(influx: Influx, url: URL): Promise<CaptureSummary> {
  const since = epochParam(url, 'since');
  const until = epochParam(url, 'until');
  if (until <= since) throw new HttpError(400, `until (${until}) must be after since (${since})`);
  const span = `time >= ${since}ms AND time < ${until}ms`;
  const [hours, days] = await Promise.all(
    ['hour', 'day'].map((period) =>
      influx.series(
        `SELECT ${FIELDS} FROM capture WHERE period = '${period}' AND closed = true AND ${span} GROUP BY dev ORDER BY time DESC LIMIT 1`,
      ),
    ),
  );
  const out: CaptureSummary = { devices: {} };
  for (const [period, series] of [
    ['hour', hours!],
    ['day', days!],
  ] as const)
    for (const s of series) {
      const dev = s.tags.dev;
      const r = s.rows[0];
      if (!dev || !r) continue;
      (out.devices[dev] ??= {})[period] = rateOf(r);
    }
  return out;
}

/** A device's hourly rates in a span, oldest first. */
export async function captureHours(influx: Influx, dev: string, since: number, until: number): Promise<CaptureRate[]> {
  const rows = await influx.rows(
    `SELECT ${FIELDS} FROM capture WHERE dev = '${dev}' AND period = 'hour' AND time >= ${since}ms AND time < ${until}ms`,
  );
  return rows.map(rateOf);
}

function rateOf(r: Record<string, unknown> & { time: number }): CaptureRate {
  return {
    start: r.time,
    got: Number(r.got ?? 0),
    rate: Number(r.rate ?? 0),
    valid: r.valid === true,
    gaps: typeof r.gaps === 'string' ? r.gaps : '',
  };
}

/** What the page checks of a summary before drawing it. */
export function decodeCaptureSummary(text: string): CaptureSummary {
  const doc = JSON.parse(text) as Partial<CaptureSummary>;
  if (typeof doc.devices !== 'object' || doc.devices === null) throw new Error('capture: no devices');
  return doc as CaptureSummary;
}
