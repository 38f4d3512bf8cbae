// The payloads of status/{gw}, live/{kind}/{dev}, alert/{dev} and dlq/{gw} (docs/protocol.md): one type
// each, the encoder every producer uses and the decoder every consumer uses. Decoders check what a
// consumer relies on and name what is wrong and where; fields they do not know pass through, so a newer
// producer may add some. (The envelope and the ack are in envelope.ts.)
import { EnvelopeError, type DataFlag } from './envelope.ts';

/** A payload that is not what its topic promises: `where` names the key, as the envelope's errors do. */
export class PayloadError extends EnvelopeError {
  override name = 'PayloadError';
  constructor(where: string, reason: string) {
    super(reason, where);
  }
}

// ---- status/{gw}: the gateway's health, retained; its last will is {"state":"offline"} ----

export interface DeviceHealth {
  up: string[];
  degraded: string[];
  down: { dev: string; error: string }[];
}
/** Per device that pushes (http and hj212 links): counts, the newest sample time and the last refusal. */
export interface PushStats {
  accepted: number;
  rejected: number;
  lastTs?: number;
  lastError?: string;
  [more: string]: unknown;
}

/**
 * One device's data capture as the gateway sees it (docs/protocol.md §5.2): minutes of a Beijing hour
 * holding a valid real-time or minute sample, of 60 (valid with ≥ 45), counted from what it stores.
 */
export interface DeviceCapture {
  /** Seconds between samples the device is expected to keep: its poll period, or for a device that pushes the spacing seen (null until two samples). */
  cadence_s: number | null;
  /** `config` (poll_ms) or `observed` (a pushing device's samples). */
  cadence_from: 'config' | 'observed';
  /** The hour in progress: its start, the minutes got so far, and those already over with none (since the gateway started). */
  hour: { start: number; got: number; lost: number; rate: number };
  /** The last closed hour, when the gateway watched all of it: `gaps` the missing minutes (`10:05-10:12`). */
  last_hour?: { start: number; got: number; rate: number; valid: boolean; gaps: string };
}

/** What a connected gateway publishes (every `status_s` and on changes). */
export interface OnlineStatus {
  state: 'online';
  /** The gateway's clock when it sent this (epoch ms). */
  ts: number;
  ep: string;
  next_seq: number;
  /** Highest seq acknowledged (-1: none yet). */
  acked: number;
  /** The ingest clock minus the gateway clock, from the last ack (ms); null before any. */
  clock_offset_ms: number | null;
  outbox: { depth: number; evicted: number };
  uplink: Record<string, number>;
  devices: DeviceHealth;
  sampling: Record<string, number>;
  /** Devices that push to the gateway (http and hj212 links), when it has any. */
  pushed?: Record<string, PushStats>;
  /** The port each of those links listens on, by link name, once it listens. */
  listening?: Record<string, number>;
  /** The last envelope ingest refused (its header failed docs/protocol.md §3.8), and why; `uplink.refused` counts them. */
  last_refusal?: { reason: string; from?: number; to?: number; ts: number };
  /** Per device that samples (not event devices such as remote sensing): its data capture. */
  capture?: Record<string, DeviceCapture>;
}

/** The last will, and what a gateway says when it stops. */
export interface OfflineStatus {
  state: 'offline';
}

export type GatewayStatus = OnlineStatus | OfflineStatus;

export const OFFLINE_STATUS = '{"state":"offline"}';

export function encodeStatus(s: GatewayStatus): string {
  return JSON.stringify(s);
}

export function decodeStatus(payload: Buffer | string): GatewayStatus {
  const doc = unlessOffline(payload, 'status', 'online');
  if (!doc) return { state: 'offline' };
  required(doc, 'status', {
    ts: 'number',
    ep: 'string',
    next_seq: 'number',
    acked: 'number',
    outbox: 'object',
    uplink: 'object',
    devices: 'object',
    sampling: 'object',
  });
  optional(doc, 'status', { pushed: 'object', listening: 'object', capture: 'object' });
  const d = doc.devices as Record<string, unknown>;
  for (const k of ['up', 'degraded', 'down'])
    if (!Array.isArray(d[k])) throw new PayloadError(`status.devices.${k}`, 'expected a list');
  if (doc.capture) for (const [dev, c] of Object.entries(doc.capture)) checkCapture(c, `status.capture.${dev}`);
  return doc as unknown as OnlineStatus;
}

function checkCapture(x: unknown, where: string): void {
  const c = asObject(x, where);
  if (c.cadence_s !== null) required(c, where, { cadence_s: 'number' });
  const hour = asObject(c.hour, `${where}.hour`);
  required(hour, `${where}.hour`, { start: 'number', got: 'number', lost: 'number', rate: 'number' });
  if (c.last_hour === undefined) return;
  const last = asObject(c.last_hour, `${where}.last_hour`);
  required(last, `${where}.last_hour`, {
    start: 'number',
    got: 'number',
    rate: 'number',
    valid: 'boolean',
    gaps: 'string',
  });
}

// ---- live/{kind}/{dev}: the latest reading of a device (and an air series' latest hour), retained ----

/** The hourly AQI block of an air series. */
export interface LiveAqi {
  /** Start of the hour (epoch ms). */
  hour: number;
  /** What is published: the AQI, or "NA" (HJ 633-2026: incomplete data and AQI ≤ 100). */
  aqi: number | 'NA' | null;
  /** The computed AQI, even when "NA" is published. */
  value: number | null;
  level?: number;
  category?: string;
  colour?: string;
  primary: string[];
  aqi_24h: number | null;
  warning: string;
  /** The hour's valid means by pollutant (µg/m³, CO mg/m³). */
  c: Record<string, number>;
}

/** GB 3838 class of a water sample (single-factor: the worst indicator's class; "劣V" beyond V). */
export interface LiveWater {
  /** `I` … `V`, or `劣V`. */
  class: string;
  /** 1–5, and 6 for 劣V. */
  n: number;
  target: string;
  /** The indicators at that class. */
  worst: string[];
  /** Each indicator's class. */
  by: Record<string, string>;
}

export interface LiveReading {
  dev: string;
  kind: string;
  ts: number;
  m?: Record<string, number>;
  f?: Record<string, DataFlag>;
  a?: Record<string, string>;
  aqi?: LiveAqi;
  /** A remote-sensing pass: judged or why not, and the readings over their limit. */
  verdict?: { judged: boolean; over?: string[]; why?: string };
  /** A water section or source: its GB 3838 class now, and its target. */
  water?: LiveWater;
  /** A city series: stations averaged, and how many were over 200. */
  stations?: number;
  stations_over_200?: number;
}

export function encodeLive(l: LiveReading): string {
  return JSON.stringify(l);
}

export function decodeLive(payload: Buffer | string): LiveReading {
  const doc = object(payload, 'live');
  required(doc, 'live', { dev: 'string', kind: 'string', ts: 'number' });
  optional(doc, 'live', { m: 'object', f: 'object', a: 'object', aqi: 'object', verdict: 'object', water: 'object' });
  if (doc.aqi !== undefined) {
    const a = doc.aqi as Record<string, unknown>;
    required(a, 'live.aqi', { hour: 'number', c: 'object' });
    if (!Array.isArray(a.primary)) throw new PayloadError('live.aqi.primary', 'expected a list');
  }
  return doc as unknown as LiveReading;
}

// ---- alert/{dev}: alarm lifecycle events; the retained message lists the alarms open ----

export type AlarmState = 'open' | 'update' | 'close' | 'event';

export interface AlarmEvent {
  dev: string;
  rule: string;
  field: string;
  /** 'event': a one-off finding that opens nothing (a vehicle pass over its limit). */
  state: AlarmState;
  /** Sample time of this event (for close: when the value came back inside the limit). */
  ts: number;
  /** When the value first went past the limit. */
  since: number;
  value: number;
  limit: number;
  /** Worst value seen while open. */
  peak: number;
  /** Text that identifies what the event is about beyond the device (a vehicle's plate and fuel). */
  attrs?: Record<string, string>;
}

export interface OpenAlarm {
  rule: string;
  field: string;
  since: number;
  limit: number;
  peak: number;
  value: number;
  lastTs: number;
  /** Sample time and value of the open event, so it can be written again after a crash. */
  openedAt: number;
  openValue: number;
}

/** An alert/{dev} message: the event and every alarm of the device still open after it. */
export interface AlertMessage {
  dev: string;
  kind: string;
  event?: AlarmEvent;
  open: OpenAlarm[];
}

const STATES = new Set(['open', 'update', 'close', 'event']);

export function encodeAlert(a: AlertMessage): string {
  return JSON.stringify(a);
}

/** An empty payload (a cleared retained message: nothing open) decodes to null. */
export function decodeAlert(payload: Buffer | string): AlertMessage | null {
  if (payload.length === 0) return null;
  const doc = object(payload, 'alert');
  required(doc, 'alert', { dev: 'string', kind: 'string' });
  if (!Array.isArray(doc.open)) throw new PayloadError('alert.open', 'expected a list');
  (doc.open as unknown[]).forEach((o, i) =>
    required(asObject(o, `alert.open[${i}]`), `alert.open[${i}]`, {
      rule: 'string',
      field: 'string',
      since: 'number',
      limit: 'number',
      peak: 'number',
      value: 'number',
    }),
  );
  if (doc.event !== undefined) {
    const e = asObject(doc.event, 'alert.event');
    required(e, 'alert.event', {
      rule: 'string',
      field: 'string',
      ts: 'number',
      since: 'number',
      value: 'number',
      limit: 'number',
      peak: 'number',
    });
    if (!STATES.has(e.state as string))
      throw new PayloadError('alert.event.state', `expected open, update, close or event, got ${show(e.state)}`);
  }
  return doc as unknown as AlertMessage;
}

// ---- dlq/{gw}: input ingest refused, and why ----

export interface DeadLetter {
  /** The ingest clock when it refused the input. */
  ts: number;
  gw: string;
  /** What was wrong and where, e.g. `records[3].m.pm25: expected a finite number`. */
  reason: string;
  /** The refused payload as text, cut at `DLQ_PAYLOAD_MAX` bytes. */
  payload: string;
  truncated: boolean;
}

export const DLQ_PAYLOAD_MAX = 64 * 1024;

export function encodeDeadLetter(ts: number, gw: string, reason: string, payload: Buffer): string {
  const d: DeadLetter = {
    ts,
    gw,
    reason,
    payload: payload.subarray(0, DLQ_PAYLOAD_MAX).toString('utf8'),
    truncated: payload.length > DLQ_PAYLOAD_MAX,
  };
  return JSON.stringify(d);
}

export function decodeDeadLetter(payload: Buffer | string): DeadLetter {
  const doc = object(payload, 'dlq');
  required(doc, 'dlq', { ts: 'number', gw: 'string', reason: 'string', payload: 'string', truncated: 'boolean' });
  return doc as unknown as DeadLetter;
}

// ---- sys/ingest/{clientId}/state: an ingest worker's state, retained; its last will is {"state":"offline"} ----

/** What a worker rebuilt before data flowed: open alarms, air windows, replayed samples, over-limit passes behind the plate history. */
export interface RestoreSummary {
  alarms: number;
  air_windows: number;
  replayed_devices: number;
  replayed_samples: number;
  rsd_passes: number;
  /** Device-hours of minute marks read back for the data-capture rate (optional: workers before it lack it). */
  capture_hours?: number;
}

/** Published once the worker is subscribed: from then on the broker keeps its messages in its session. */
export interface IngestRunning {
  state: 'running';
  ts: number;
  worker: number;
  workers: number;
  shards: number[];
  restored: RestoreSummary;
  /** With shard leases (worker -1, workers the live workers counted): the worker's token, ttl and lease counts. */
  lease?: IngestLease;
}

export interface IngestLease {
  token: string;
  ttl_ms: number;
  /** Shards taken, and given back or lost, since start. */
  gains: number;
  losses: number;
  /** Resend requests sent to the gateways of shards taken (optional: workers before them lack it). */
  resends?: number;
}
export type IngestState = IngestRunning | OfflineStatus;

export function encodeIngestState(s: IngestState): string {
  return JSON.stringify(s);
}

export function decodeIngestState(payload: Buffer | string): IngestState {
  const doc = unlessOffline(payload, 'ingest', 'running');
  if (!doc) return { state: 'offline' };
  required(doc, 'ingest', { ts: 'number', worker: 'number', workers: 'number', restored: 'object' });
  if (!Array.isArray(doc.shards)) throw new PayloadError('ingest.shards', 'expected a list');
  if (doc.lease !== undefined) {
    const lease = asObject(doc.lease, 'ingest.lease');
    required(lease, 'ingest.lease', { token: 'string', ttl_ms: 'number', gains: 'number', losses: 'number' });
    optional(lease, 'ingest.lease', { resends: 'number' });
  }
  required(doc.restored as Record<string, unknown>, 'ingest.restored', {
    alarms: 'number',
    air_windows: 'number',
    replayed_devices: 'number',
    replayed_samples: 'number',
    rsd_passes: 'number',
  });
  return doc as unknown as IngestRunning;
}

// ---- the operator console's alarm API (docs/protocol.md §10): history from the alert measurement, acknowledgements ----

/** An operator's acknowledgement of an alarm, named by device, rule, field and `since`. */
export interface AlarmAck {
  dev: string;
  rule: string;
  field: string;
  /** When the alarm's value first went past the limit: with dev, rule and field, the alarm. */
  since: number;
  /** The operator (the login that acknowledged). */
  by: string;
  comment: string;
  /** When it was acknowledged (the console server's clock). */
  at: number;
}

/** What an operator sends to acknowledge: the alarm and a comment; who and when are the server's. */
export type AckRequest = Omit<AlarmAck, 'by' | 'at'>;

/** A stored alarm event (a row of the alert measurement) with the device kind. */
export interface StoredAlarmEvent extends AlarmEvent {
  kind: string;
}

/** GET /api/alarms: the events and acknowledgements between `since` and `until`, newest events first. */
export interface AlarmHistory {
  since: number;
  until: number;
  events: StoredAlarmEvent[];
  acks: AlarmAck[];
}

/** The longest comment an acknowledgement keeps. */
export const ACK_COMMENT_MAX = 500;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

export function encodeAckRequest(a: AckRequest): string {
  return JSON.stringify(a);
}

export function decodeAckRequest(payload: Buffer | string): AckRequest {
  const doc = object(payload, 'ack');
  required(doc, 'ack', { dev: 'string', rule: 'string', field: 'string', since: 'number', comment: 'string' });
  for (const k of ['dev', 'rule', 'field'] as const)
    if (!NAME.test(doc[k] as string))
      throw new PayloadError(
        `ack.${k}`,
        `expected a name of letters, digits and ._/- (at most 64), got ${show(doc[k])}`,
      );
  if (!Number.isInteger(doc.since) || (doc.since as number) <= 0)
    throw new PayloadError('ack.since', `expected epoch milliseconds, got ${show(doc.since)}`);
  const comment = (doc.comment as string).trim();
  if (!comment) throw new PayloadError('ack.comment', 'say what was done or why (a comment is required)');
  if (comment.length > ACK_COMMENT_MAX)
    throw new PayloadError('ack.comment', `at most ${ACK_COMMENT_MAX} characters, got ${comment.length}`);
  return {
    dev: doc.dev as string,
    rule: doc.rule as string,
    field: doc.field as string,
    since: doc.since as number,
    comment,
  };
}

export function encodeAlarmHistory(h: AlarmHistory): string {
  return JSON.stringify(h);
}

export function decodeAlarmHistory(payload: Buffer | string): AlarmHistory {
  const doc = object(payload, 'history');
  required(doc, 'history', { since: 'number', until: 'number' });
  for (const k of ['events', 'acks'] as const)
    if (!Array.isArray(doc[k])) throw new PayloadError(`history.${k}`, 'expected a list');
  (doc.events as unknown[]).forEach((e, i) =>
    required(asObject(e, `history.events[${i}]`), `history.events[${i}]`, {
      dev: 'string',
      kind: 'string',
      rule: 'string',
      field: 'string',
      state: 'string',
      ts: 'number',
      since: 'number',
      value: 'number',
      limit: 'number',
      peak: 'number',
    }),
  );
  (doc.acks as unknown[]).forEach((a, i) =>
    required(asObject(a, `history.acks[${i}]`), `history.acks[${i}]`, {
      dev: 'string',
      rule: 'string',
      field: 'string',
      since: 'number',
      by: 'string',
      comment: 'string',
      at: 'number',
    }),
  );
  return doc as unknown as AlarmHistory;
}

// ---- checks ----

/** A retained state with a last will: null for `{"state":"offline"}`, else the document, whose state must be `up`. */
function unlessOffline(payload: Buffer | string, where: string, up: string): Record<string, unknown> | null {
  const doc = object(payload, where);
  if (doc.state === 'offline') return null;
  if (doc.state !== up)
    throw new PayloadError(`${where}.state`, `expected "${up}" or "offline", got ${show(doc.state)}`);
  return doc;
}

type Type = 'string' | 'number' | 'boolean' | 'object';

function object(payload: Buffer | string, where: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString());
  } catch {
    throw new PayloadError(where, 'not JSON');
  }
  return asObject(doc, where);
}

function asObject(x: unknown, where: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new PayloadError(where, `expected an object, got ${show(x)}`);
  return x as Record<string, unknown>;
}

function typeOk(v: unknown, t: Type): boolean {
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  if (t === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  return typeof v === t;
}

function required(doc: Record<string, unknown>, where: string, fields: Record<string, Type>): void {
  for (const [k, t] of Object.entries(fields))
    if (!typeOk(doc[k], t)) throw new PayloadError(`${where}.${k}`, `expected a ${t}, got ${show(doc[k])}`);
}

function optional(doc: Record<string, unknown>, where: string, fields: Record<string, Type>): void {
  for (const [k, t] of Object.entries(fields))
    if (doc[k] !== undefined && doc[k] !== null && !typeOk(doc[k], t))
      throw new PayloadError(`${where}.${k}`, `expected a ${t}, got ${show(doc[k])}`);
}

const show = (x: unknown): string => (x === undefined ? 'nothing' : (JSON.stringify(x)?.slice(0, 40) ?? String(x)));
