// Alarm history and acknowledgements in the page: loaded from the console server's API when the page
// connects (events of the last day, and of the day before the oldest open alarm), refreshed every 10 s
// so other operators' acknowledgements show, and merged with the events that arrive over MQTT.
import {
  decodeAlarmHistory,
  encodeAckRequest,
  type AckRequest,
  type AlarmAck,
  type StoredAlarmEvent,
} from '../../protocol/messages.ts';
import { DAY, HOUR } from '../../protocol/time.ts';
import type { EventView, OpenAlarmView } from '../network-view.ts';
import { alarmKey } from './render.ts';

export const REFRESH_MS = 10_000;
/** The API reads at most 92 days at a time. */
const MAX_SPAN_MS = 91 * DAY;
const MAX_EVENTS = 50;

export interface Range {
  since: number;
  until: number;
}

/** The day before now or before the oldest open alarm, to an hour after now or the newest one. */
export function wantedRange(open: Pick<OpenAlarmView, 'since'>[], now: number): Range {
  const times = open.map((a) => a.since);
  const until = Math.max(now, ...times) + HOUR;
  return { since: Math.max(Math.min(now, ...times) - DAY, until - MAX_SPAN_MS), until };
}

/** Events from the API and from MQTT, once each, newest first. */
export function mergeEvents(live: EventView[], stored: StoredAlarmEvent[]): EventView[] {
  const seen = new Set<string>();
  const out: EventView[] = [];
  for (const e of [...live, ...stored]) {
    const k = `${alarmKey(e)}|${e.state}|${e.ts}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out.sort((a, b) => b.ts - a.ts).slice(0, MAX_EVENTS);
}

/** The API as the logged-in operator: HTTP Basic with the MQTT login the page already has. */
export class AlarmHistory {
  range?: Range;
  events: StoredAlarmEvent[] = [];
  readonly acks = new Map<string, AlarmAck>();
  /** Why the history could not be read, when it could not. */
  error?: string;
  private loading?: Promise<void>;

  constructor(
    private user: string,
    private password: string,
  ) {}

  headers(): Record<string, string> {
    const bytes = new TextEncoder().encode(`${this.user}:${this.password}`);
    return { authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
  }

  /** Whether what is loaded covers these open alarms (a failed read counts: it waits for the next refresh). */
  covers(open: Pick<OpenAlarmView, 'since'>[]): boolean {
    const r = this.range;
    return this.error !== undefined || (!!r && open.every((a) => a.since >= r.since && a.since <= r.until));
  }

  /** Loads what covers the open alarms, unless already loaded (or `force`, for a refresh). */
  async load(open: OpenAlarmView[], now: number, force = false): Promise<void> {
    if ((this.covers(open) && !force) || this.loading) return this.loading;
    this.loading = this.fetch(wantedRange(open, now)).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async fetch(r: Range): Promise<void> {
    try {
      const res = await fetch(`api/alarms?since=${r.since}&until=${r.until}`, { headers: this.headers() });
      if (!res.ok) throw new Error(((await res.json()) as { error?: string }).error ?? `HTTP ${res.status}`);
      const h = decodeAlarmHistory(await res.text());
      this.range = r;
      this.events = h.events;
      this.acks.clear();
      for (const a of h.acks) this.acks.set(alarmKey(a), a);
      this.error = undefined;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Acknowledges an alarm; the stored acknowledgement, or why not. */
  async acknowledge(req: AckRequest): Promise<AlarmAck> {
    const res = await fetch('api/alarms/ack', {
      method: 'POST',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: encodeAckRequest(req),
    });
    const doc = (await res.json()) as { ack?: AlarmAck; error?: string };
    if (!res.ok || !doc.ack) throw new Error(doc.error ?? `HTTP ${res.status}`);
    this.acks.set(alarmKey(doc.ack), doc.ack);
    return doc.ack;
  }
}
