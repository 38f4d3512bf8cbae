// The console server's API (docs/protocol.md §10): alarm history read from the alert measurement and
// operators' acknowledgements kept in alert_ack, both over InfluxQL with explicit time bounds; it also
// routes a device's history (device-api.ts) and the sites of the devices file (sites.ts). Every request
// needs an operator's login (console/auth.ts).
import type http from 'node:http';
import {
  decodeAckRequest,
  encodeAlarmHistory,
  PayloadError,
  type AlarmAck,
  type AlarmState,
  type StoredAlarmEvent,
} from '../protocol/messages.ts';
import { encodePoint } from '../protocol/line-protocol.ts';
import { log } from '../protocol/log.ts';
import { DAY, MINUTE } from '../protocol/time.ts';
import { devName, epochParam, HttpError, intParam, send } from './api-params.ts';
import type { OperatorAuth } from './auth.ts';
import { deviceHistory } from './device-api.ts';
import type { Site } from './sites.ts';
import { captureSummary } from './capture.ts';
import { InfluxError, type Influx, type Row } from './influx.ts';

/** Events one request returns at most, and by default. */
const MAX_EVENTS = 1000;
const DEFAULT_EVENTS = 200;
/** The longest span one request may read. */
const MAX_SPAN_MS = 92 * DAY;
/** `until` when the request names none: a little ahead, for gateways whose clocks run fast. */
const AHEAD_MS = 5 * MINUTE;
const MAX_BODY = 4096;
/** Columns of an alert row that are not attributes (docs/protocol.md §7.4). */
const EVENT_COLUMNS = new Set(['time', 'dev', 'rule', 'field', 'state', 'value', 'limit', 'peak', 'since', 'kind']);

export class AlarmApi {
  constructor(
    private influx: Influx | undefined,
    private auth: OperatorAuth,
    private clock: () => number = Date.now,
    /** Ingest's devices file as the console read it (console/sites.ts): empty without --devices. */
    private sites: Record<string, Site> = {},
  ) {}

  /** Answers a request under /api/; false for any other path. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://console');
    if (!url.pathname.startsWith('/api/')) return false;
    try {
      const who = await this.auth.check(req.headers.authorization);
      if (!who.ok) {
        const challenge: Record<string, string> =
          who.status === 401 ? { 'www-authenticate': 'Basic realm="qingcheng console", charset="UTF-8"' } : {};
        return send(res, who.status, { error: who.error }, challenge);
      }
      if (url.pathname === '/api/sites' && req.method === 'GET') return send(res, 200, { devices: this.sites });
      if (!this.influx) throw new HttpError(503, 'no database: start the console with --influx-url and --db');
      if (url.pathname === '/api/alarms' && req.method === 'GET') return send(res, 200, await this.history(url));
      if (url.pathname === '/api/alarms/ack' && req.method === 'POST')
        return send(res, 200, { ack: await this.acknowledge(await body(req), who.user) });
      if (url.pathname === '/api/capture' && req.method === 'GET')
        return send(res, 200, await captureSummary(this.influx, url));
      const history = /^\/api\/device\/([^/]+)\/history$/.exec(url.pathname);
      if (history && req.method === 'GET')
        return send(res, 200, await deviceHistory(this.influx, decodeURIComponent(history[1]!), url));
      throw new HttpError(
        404,
        `no ${req.method} ${url.pathname}: GET /api/alarms?since=…&until=…, POST /api/alarms/ack, GET /api/sites, GET /api/capture?since=…&until=…, GET /api/device/{dev}/history?since=…&until=…`,
      );
    } catch (e) {
      if (e instanceof HttpError) return send(res, e.status, { error: e.message });
      if (e instanceof PayloadError) return send(res, 400, { error: e.message });
      if (e instanceof InfluxError) return send(res, 502, { error: e.message });
      throw e;
    }
  }

  /** GET /api/alarms?since=…[&until=…][&limit=…][&dev=…]: events newest first, and the acknowledgements. */
  private async history(url: URL): Promise<string> {
    const since = epochParam(url, 'since');
    const until = url.searchParams.has('until') ? epochParam(url, 'until') : this.clock() + AHEAD_MS;
    if (until < since) throw new HttpError(400, `until (${until}) is before since (${since})`);
    if (until - since > MAX_SPAN_MS) throw new HttpError(400, `at most ${MAX_SPAN_MS / DAY} days at a time`);
    const limit = url.searchParams.has('limit') ? intParam(url, 'limit', 1, MAX_EVENTS) : DEFAULT_EVENTS;
    // One device's alarms (the device page), or every device's.
    const dev = url.searchParams.has('dev') ? ` AND "dev" = '${devName(url.searchParams.get('dev')!)}'` : '';
    const bounds = `time >= ${since}ms AND time <= ${until}ms${dev}`;
    const [events, acks] = await Promise.all([
      this.influx!.rows(`SELECT * FROM "alert" WHERE ${bounds} ORDER BY time DESC LIMIT ${limit}`),
      this.influx!.rows(`SELECT * FROM "alert_ack" WHERE ${bounds}`),
    ]);
    return encodeAlarmHistory({ since, until, events: events.map(toEvent), acks: acks.map(toAck) });
  }

  /** POST /api/alarms/ack: stored as the alarm's row of alert_ack (a later one replaces it). */
  private async acknowledge(text: string, user: string): Promise<AlarmAck> {
    const req = decodeAckRequest(text);
    const ack: AlarmAck = { ...req, by: user, at: this.clock() };
    await this.influx!.write([
      encodePoint({
        measurement: 'alert_ack',
        tags: { dev: ack.dev, rule: ack.rule, field: ack.field },
        fields: { since: ack.since, by: ack.by, comment: ack.comment, at: ack.at },
        ts: ack.since,
      }),
    ]);
    log('info', 'alarm acknowledged', { dev: ack.dev, rule: ack.rule, field: ack.field, since: ack.since, by: ack.by });
    return ack;
  }
}

function toEvent(r: Row): StoredAlarmEvent {
  const attrs = Object.fromEntries(
    Object.entries(r).filter(([k, v]) => !EVENT_COLUMNS.has(k) && typeof v === 'string' && v !== ''),
  ) as Record<string, string>;
  return {
    dev: String(r.dev),
    kind: String(r.kind ?? ''),
    rule: String(r.rule),
    field: String(r.field),
    state: String(r.state) as AlarmState,
    ts: r.time,
    since: Number(r.since ?? r.time),
    value: Number(r.value),
    limit: Number(r.limit),
    peak: Number(r.peak ?? r.value),
    ...(Object.keys(attrs).length ? { attrs } : {}),
  };
}

function toAck(r: Row): AlarmAck {
  return {
    dev: String(r.dev),
    rule: String(r.rule),
    field: String(r.field),
    since: Number(r.since ?? r.time),
    by: String(r.by),
    comment: String(r.comment),
    at: Number(r.at),
  };
}

async function body(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_BODY) throw new HttpError(413, `at most ${MAX_BODY} bytes`);
  }
  return text;
}
