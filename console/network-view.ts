// What an operator sees of the network, built only from MQTT (status/, alert/, live/): gateways and their
// health, open alarms, each device's latest reading, each air series' latest hourly AQI, and the latest
// alarm events. Used by the `watch` CLI and the web console; pure, so it can be tested without a broker.
import {
  decodeAlert,
  decodeLive,
  decodeStatus,
  PayloadError,
  type AlertMessage,
  type GatewayStatus,
  type LiveReading,
  type OnlineStatus,
} from '../protocol/messages.ts';
import { VALID_MINUTES } from '../protocol/capture.ts';
import type { Topics } from '../protocol/topics.ts';
import { Readings } from './readings.ts';
import { beijingText } from '../protocol/time.ts';

/** The devices of a status whose capture falls short (GatewayView.shortCapture), worst first. */
function shortCapture(capture: NonNullable<OnlineStatus['capture']>): string[] {
  const short: { text: string; got: number }[] = [];
  for (const [dev, c] of Object.entries(capture)) {
    if (c.last_hour && !c.last_hour.valid)
      short.push({ text: `${dev} ${c.last_hour.got}/60 last hour`, got: c.last_hour.got });
    else if (c.hour.lost > 60 - VALID_MINUTES)
      short.push({ text: `${dev} ${c.hour.lost} min lost`, got: 60 - c.hour.lost });
  }
  return short.sort((a, b) => a.got - b.got).map((x) => x.text);
}

export interface GatewayView {
  gw: string;
  state: string;
  ts?: number;
  outbox?: number;
  evicted?: number;
  acked?: number;
  clockOffsetMs?: number;
  up: number;
  degraded: number;
  /** The polled devices by name: up, and degraded (a failed poll, or flags other than N). */
  upDevs: string[];
  degradedDevs: string[];
  down: { dev: string; error: string }[];
  /** Devices that push (HJ 212 loggers, http): how many, and how many have sent nothing for 10 minutes. */
  pushing: number;
  silent: string[];
  /** Each pushing device's newest sample time and last refusal, as the gateway counts them. */
  pushed: Record<string, { lastTs?: number; lastError?: string }>;
  /**
   * Devices whose data capture falls short, as the gateway counts it: the last closed hour under 45/60
   * ("aq-7 12/60 last hour"), or more than 15 minutes of this hour already lost ("aq-7 20 min lost").
   */
  shortCapture: string[];
}

const SILENT_MS = 10 * 60_000;
export interface OpenAlarmView {
  dev: string;
  kind: string;
  rule: string;
  field: string;
  since: number;
  value: number;
  limit: number;
  peak: number;
}
export interface AqiView {
  dev: string;
  kind: string;
  hour: number;
  aqi: number | null;
  level?: number;
  category?: string;
  primary?: string[];
  warning?: string;
  aqi24?: number | null;
}
export interface EventView {
  dev: string;
  kind: string;
  rule: string;
  field: string;
  state: string;
  ts: number;
  /** When the value first went past the limit: with dev, rule and field, the alarm's identity. */
  since: number;
  value: number;
  limit: number;
  attrs?: Record<string, string>;
}

const MAX_EVENTS = 50;

export class NetworkView {
  readonly gateways = new Map<string, GatewayView>();
  private alarms = new Map<string, OpenAlarmView[]>();
  readonly aqi = new Map<string, AqiView>();
  readonly readings = new Readings();
  readonly events: EventView[] = [];
  malformed = 0;

  constructor(private topics: Topics) {}

  /** Feeds one MQTT message; returns the alarm event it carried, if any (what a line-per-event output prints). */
  onMessage(topic: string, payload: Buffer | string, retained = false): EventView | null {
    const t = this.topics.parse(topic);
    if (!t) return null;
    try {
      if (t.kind === 'status') this.onStatus(t.levels[0]!, decodeStatus(payload));
      else if (t.kind === 'live') this.onLive(decodeLive(payload));
      else if (t.kind === 'alert') return this.onAlert(t.levels[0]!, decodeAlert(payload), retained);
    } catch (e) {
      if (!(e instanceof PayloadError)) throw e;
      this.malformed++;
    }
    return null;
  }

  private onAlert(dev: string, doc: AlertMessage | null, retained: boolean): EventView | null {
    if (!doc) {
      this.alarms.delete(dev);
      return null;
    } // cleared: no alarm open
    const { kind } = doc;
    this.alarms.set(
      doc.dev,
      doc.open.map((a) => ({
        dev: doc.dev,
        kind,
        rule: a.rule,
        field: a.field,
        since: a.since,
        value: a.value,
        limit: a.limit,
        peak: a.peak,
      })),
    );
    if (retained || !doc.event) return null; // a retained message restates what is open; it is no news
    const e = doc.event;
    const ev: EventView = {
      dev: doc.dev,
      kind,
      rule: e.rule,
      field: e.field,
      state: e.state,
      ts: e.ts,
      since: e.since,
      value: e.value,
      limit: e.limit,
      ...(e.attrs ? { attrs: e.attrs } : {}),
    };
    this.events.unshift(ev);
    if (this.events.length > MAX_EVENTS) this.events.length = MAX_EVENTS;
    return ev;
  }

  private onStatus(gw: string, s: GatewayStatus): void {
    if (s.state === 'offline') {
      // The last will: what the gateway last said still stands, marked offline.
      const last = this.gateways.get(gw);
      this.gateways.set(gw, {
        ...(last ?? {
          gw,
          up: 0,
          degraded: 0,
          upDevs: [],
          degradedDevs: [],
          down: [],
          pushing: 0,
          silent: [],
          pushed: {},
          shortCapture: [],
        }),
        state: 'offline',
      });
      return;
    }
    const pushed = Object.entries(s.pushed ?? {});
    this.gateways.set(gw, {
      gw,
      state: s.state,
      ts: s.ts,
      outbox: s.outbox.depth,
      evicted: s.outbox.evicted,
      acked: s.acked,
      clockOffsetMs: s.clock_offset_ms ?? undefined,
      up: s.devices.up.length,
      degraded: s.devices.degraded.length,
      upDevs: s.devices.up,
      degradedDevs: s.devices.degraded,
      down: s.devices.down,
      pushing: pushed.length,
      silent: pushed.filter(([, p]) => !p.lastTs || p.lastTs < s.ts - SILENT_MS).map(([dev]) => dev),
      pushed: Object.fromEntries(
        pushed.map(([dev, p]) => [
          dev,
          { ...(p.lastTs ? { lastTs: p.lastTs } : {}), ...(p.lastError ? { lastError: p.lastError } : {}) },
        ]),
      ),
      shortCapture: shortCapture(s.capture ?? {}),
    });
  }

  private onLive(m: LiveReading): void {
    this.readings.add(m);
    const a = m.aqi;
    if (!a) return;
    this.aqi.set(m.dev, {
      dev: m.dev,
      kind: m.kind,
      hour: a.hour,
      aqi: a.value ?? null,
      level: a.level,
      category: a.category,
      primary: a.primary,
      warning: a.warning,
      aqi24: a.aqi_24h,
    });
  }

  /** Open alarms, longest open first. */
  openAlarms(): OpenAlarmView[] {
    return [...this.alarms.values()].flat().sort((a, b) => a.since - b.since);
  }
}

/** Beijing wall-clock time, which is what operators read. */
export const beijing = beijingText;
