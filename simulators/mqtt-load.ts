// Load generators that behave like many gateways, each over its own MQTT connection with a window in
// flight, following its ack/{gw}: LoadGateway publishes a fixed number of synthetic 10-field air records
// as fast as it can (bench/pipeline.ts); FleetGateway publishes the records a city's devices take as
// they take them (`qingcheng load`). Both re-publish everything unacknowledged at once when a worker that
// has just started reading their shard asks (a resend request, docs/protocol.md §5.1), as a gateway does.
import net from 'node:net';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { reconnectDelay } from '../protocol/backoff.ts';
import type { SampleRecord } from '../protocol/envelope.ts';
import { Topics } from '../protocol/topics.ts';
import { decodeAckMessage, encodeEnvelope, RESEND_MIN_INTERVAL_MS, type Ack } from '../protocol/envelope.ts';

/**
 * Serves resend requests as gateway/uplink.ts does: at once, at most one per `minMs`; a request that comes
 * sooner is served when `minMs` has passed since the last, so a storm of requests costs one more resend.
 */
export class ResendGate {
  private last = -Infinity;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly minMs: number,
    private readonly resend: () => void,
  ) {}

  request(now = Date.now()): void {
    if (this.timer) return; // one is due already
    const wait = this.last + this.minMs - now;
    if (wait <= 0) return this.serve(now);
    this.timer = setTimeout(() => this.serve(Date.now()), wait);
    this.timer.unref();
  }

  private serve(now: number): void {
    this.timer = undefined;
    this.last = now;
    this.resend();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * What arrives on ack/{gw} for `ep`: the watermark of an acknowledgement, 'resend' for a resend request,
 * or null (another epoch, a refusal, or not a message of the protocol).
 */
function ackFor(p: Buffer, ep: string): Ack | 'resend' | null {
  let m;
  try {
    m = decodeAckMessage(p);
  } catch {
    return null;
  }
  if ('resend' in m) return m.resend.ep === ep ? 'resend' : null;
  if ('refused' in m) return null;
  return m.ack.ep === ep ? m.ack : null;
}

export interface LoadOptions {
  url: string;
  gateway: string;
  password?: string;
  devices: number;
  records: number;
  batch: number;
  window: number;
  /** Sample time of the first record; later ones step 1 s per device. */
  startTs: number;
  /** At most one resend on request per this long (RESEND_MIN_INTERVAL_MS by default, as a gateway). */
  resendMinMs?: number;
}

export function syntheticRecord(dev: string, ts: number, i: number): SampleRecord {
  return {
    dev,
    kind: 'air.micro',
    ts,
    m: {
      pm25: 30 + (i % 70),
      pm10: 60 + (i % 90),
      so2: 8 + (i % 9),
      no2: 20 + (i % 30),
      co: 0.4 + (i % 10) / 10,
      o3: 50 + (i % 60),
      temp: -10 + (i % 200) / 10,
      rh: 30 + (i % 50),
      pressure: 88.5 + (i % 10) / 10,
      ws: (i % 80) / 10,
    },
  };
}

export class LoadGateway {
  private client!: MqttClient;
  private topics = new Topics();
  acked = -1;
  /** Resend requests served, and the envelopes they published again. */
  resends = 0;
  republished = 0;
  readonly ep = `load${Math.random().toString(36).slice(2, 8)}`;
  private done!: Promise<void>;
  /** Envelopes published and not yet acknowledged, oldest first: what a resend request publishes again. */
  private unacked: { last: number; payload: string | Buffer }[] = [];
  private readonly resendGate: ResendGate;

  constructor(readonly o: LoadOptions) {
    this.resendGate = new ResendGate(o.resendMinMs ?? RESEND_MIN_INTERVAL_MS, () => this.resendUnacked());
  }

  async connect(): Promise<void> {
    this.client = mqtt.connect(this.o.url, {
      clientId: this.o.gateway,
      username: this.o.gateway,
      ...(this.o.password ? { password: this.o.password } : {}),
      protocolVersion: 4,
    });
    await new Promise<void>((resolve, reject) => {
      this.client.once('connect', () => resolve());
      this.client.once('error', reject);
    });
    await this.client.subscribeAsync(this.topics.ack(this.o.gateway), { qos: 1 });
  }

  /** Publishes all records; resolves when ingest has acknowledged the last one. */
  run(): Promise<void> {
    const last = this.o.records - 1;
    this.done = new Promise((resolve) => {
      this.client.on('message', (_t, p) => {
        const a = ackFor(p, this.ep);
        if (a === 'resend') return this.resendGate.request();
        if (!a) return;
        this.acked = Math.max(this.acked, a.seq);
        while (this.unacked.length > 0 && this.unacked[0]!.last <= this.acked) this.unacked.shift();
        if (this.acked >= last) resolve();
      });
    });
    let next = 0;
    let inflight = 0;
    const pump = () => {
      while (inflight < this.o.window && next <= last) {
        const n = Math.min(this.o.batch, last + 1 - next);
        const records = Array.from({ length: n }, (_, k) => {
          const i = next + k;
          return syntheticRecord(
            `${this.o.gateway}-aq${i % this.o.devices}`,
            this.o.startTs + Math.floor(i / this.o.devices) * 1000,
            i,
          );
        });
        const env = encodeEnvelope({ v: 1, gw: this.o.gateway, ep: this.ep, seq: next, records });
        next += n;
        this.unacked.push({ last: next - 1, payload: env });
        inflight++;
        this.client.publish(this.topics.up(this.o.gateway), env, { qos: 1 }, () => {
          inflight--;
          pump();
        });
      }
    };
    pump();
    return this.done;
  }

  /** On a resend request: every envelope not yet acknowledged goes out again, outside the window. */
  private resendUnacked(): void {
    this.resends++;
    for (const e of this.unacked) {
      this.republished++;
      this.client.publish(this.topics.up(this.o.gateway), e.payload, { qos: 1 });
    }
  }

  async close(): Promise<void> {
    this.resendGate.close();
    await this.client.endAsync(true);
  }
}

export interface FleetGatewayOptions {
  url: string;
  gateway: string;
  password?: string;
  /** Records per envelope at most (a Qingcheng gateway's batch_max). */
  batch: number;
  /** Envelopes awaiting their PUBACK at most. */
  window: number;
  /** Re-publish what stays unacknowledged this long while acks do not move (docs/protocol.md §6.5). */
  republishMs: number;
  /** At most one resend on request per this long (RESEND_MIN_INTERVAL_MS by default, as a gateway). */
  resendMinMs?: number;
  /** false: ignore resend requests, as a gateway built before them (bench/lease-takeover.ts compares). */
  honourResends?: boolean;
  topics?: Topics;
  /**
   * Connect from this local address (any of 127.0.0.0/8 on loopback), so a run from one machine looks
   * to the broker like gateways at many addresses, each with its own connection-rate bucket.
   */
  localAddress?: string;
}

/** An envelope once ingest has acknowledged all of it. */
export interface AckedEnvelope {
  records: number;
  /** When it was first published (clock ms). */
  publishedAt: number;
  /** Sample time of each record. */
  sampleTs: number[];
}

interface Unacked extends AckedEnvelope {
  first: number;
  last: number;
  batch: SampleRecord[];
  lastSentAt: number;
  /** Copies of it awaiting their PUBACK (a resend request sends those in flight too). */
  sending: number;
}

/**
 * A gateway of a city load run: records are handed to it as the devices behind it take them, get the
 * next seq of its epoch (as an outbox would), and go out in envelopes of consecutive seqs with at most
 * `window` awaiting their PUBACK. It follows its ack/{gw} watermark and reports each envelope's
 * acknowledgement, so the caller can time publish → ack and sample → ack.
 */
export class FleetGateway {
  readonly ep = `ld${Math.random().toString(36).slice(2, 10)}`;
  /** Records handed over (the next seq). */
  nextSeq = 0;
  /** Records the broker has PUBACKed (first publish only). */
  sent = 0;
  /** The watermark: every seq up to this one is stored. */
  acked = -1;
  envelopes = 0;
  /** Envelopes published again, on the timer or on a resend request. */
  republished = 0;
  /** Resend requests served: each published every unacknowledged envelope again at once. */
  resends = 0;
  reconnects = 0;
  /** Connection errors other than a refused login (timeouts, refused sockets), each followed by a retry. */
  errors = 0;
  /** When the connection last dropped (clock ms), and when it was up again after that; 0: never. */
  droppedAt = 0;
  reconnectedAt = 0;
  /** Start times of the reconnect attempts since the last drop (the first 32). */
  attempts: number[] = [];
  /** Connection attempts failed since the last success: they set the next wait, as in a real gateway. */
  private failed = 0;
  onAcked?: (e: AckedEnvelope, now: number) => void;
  private client?: MqttClient;
  private readonly topics: Topics;
  private pending: SampleRecord[] = [];
  private inFlight = 0;
  private unacked: Unacked[] = [];
  private lastProgress = Date.now();
  private waiters: (() => void)[] = [];
  private readonly resendGate: ResendGate;

  constructor(readonly o: FleetGatewayOptions) {
    this.topics = o.topics ?? new Topics();
    this.resendGate = new ResendGate(o.resendMinMs ?? RESEND_MIN_INTERVAL_MS, () => this.resendUnacked());
  }

  /**
   * Connects and subscribes to its acknowledgements; rejects with the broker's refusal or after `timeoutMs`.
   * A failed attempt (no CONNACK within 10 s, a refused socket) and a lost connection are tried again after
   * the real gateway's jittered back-off (protocol/backoff.ts).
   */
  async connect(timeoutMs = 20_000): Promise<void> {
    const opts: IClientOptions = {
      clientId: this.o.gateway,
      username: this.o.gateway,
      ...(this.o.password ? { password: this.o.password } : {}),
      protocolVersion: 4,
      reconnectPeriod: reconnectDelay(0),
      // As a real gateway's uplink: an attempt unanswered this long is dropped and tried again.
      connectTimeout: Math.min(timeoutMs, 10_000),
    };
    const client = this.o.localAddress ? this.boundClient(opts) : mqtt.connect(this.o.url, opts);
    this.client = client;
    // Errors other than a refused login (a timeout, a refused socket) only lead to the next attempt.
    client.on('error', () => this.errors++);
    client.on('reconnect', () => {
      this.reconnects++;
      if (this.attempts.length < 32) this.attempts.push(Date.now());
    });
    client.on('close', () => {
      // As gateway/uplink.ts does: MQTT.js has scheduled this reconnect already (its own close listener
      // runs first), so the wait set here is the one after the next failure: 0.5–1 s, 1–2 s, … 15–30 s.
      client.options.reconnectPeriod = reconnectDelay(++this.failed);
      if (this.failed === 1) {
        this.droppedAt = Date.now();
        this.attempts = [];
      }
    });
    client.on('connect', () => {
      this.failed = 0;
      client.options.reconnectPeriod = reconnectDelay(0);
      this.reconnectedAt = Date.now();
    });
    client.on('message', (_t, p) => this.onAck(p));
    await new Promise<void>((resolve, reject) => {
      const settle = (e?: Error) => {
        clearTimeout(timer);
        client.off('connect', up).off('error', refused);
        if (!e) return resolve();
        client.end(true);
        reject(e);
      };
      const up = () => settle();
      // A CONNACK refusal (a numeric return code) is final.
      const refused = (e: Error & { code?: unknown }) => {
        if (typeof e.code === 'number') settle(new Error(`${this.o.gateway}: ${e.message}`));
      };
      const timer = setTimeout(
        () => settle(new Error(`${this.o.gateway}: no CONNACK within ${timeoutMs} ms`)),
        timeoutMs,
      );
      client.on('connect', up).on('error', refused);
    });
    await client.subscribeAsync(this.topics.ack(this.o.gateway), { qos: 1 });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** A client whose every connection leaves from `localAddress`. */
  private boundClient(opts: IClientOptions): MqttClient {
    const u = new URL(this.o.url);
    if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:')
      throw new Error(`${this.o.gateway}: a local address needs an mqtt:// broker URL, got ${this.o.url}`);
    const at = { host: u.hostname, port: Number(u.port) || 1883, localAddress: this.o.localAddress };
    return new MqttClient(() => net.createConnection(at), { ...opts, protocol: 'mqtt', host: at.host, port: at.port });
  }

  /** Takes a record under the next seq; `pump` publishes it. */
  add(r: SampleRecord): void {
    this.pending.push(r);
    this.nextSeq++;
  }

  /** Records handed over but not yet published. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Publishes what is pending, in envelopes of up to `batch`, while the window has room. */
  pump(): void {
    const client = this.client;
    if (!client) return;
    while (this.inFlight < this.o.window && this.pending.length > 0) {
      const first = this.nextSeq - this.pending.length;
      const records = this.pending.splice(0, this.o.batch);
      const now = Date.now();
      const e: Unacked = {
        first,
        last: first + records.length - 1,
        records: records.length,
        batch: records,
        publishedAt: now,
        lastSentAt: now,
        sending: 0,
        sampleTs: records.map((r) => r.ts),
      };
      this.unacked.push(e);
      this.envelopes++;
      this.send(e, true);
    }
  }

  private send(e: Unacked, first: boolean): void {
    this.inFlight++;
    e.sending++;
    // What is acknowledged is deleted, and announced as a gap in every envelope sent (docs/protocol.md
    // §6.4), so a worker that missed the acknowledgement (a shard's new owner) moves its watermark past it.
    const gap: [number, number][] = this.acked >= 0 ? [[0, this.acked]] : [];
    const payload = encodeEnvelope({ v: 1, gw: this.o.gateway, ep: this.ep, seq: e.first, records: e.batch, gap });
    this.client!.publish(this.topics.up(this.o.gateway), payload, { qos: 1 }, (err) => {
      this.inFlight--;
      e.sending--;
      if (!err && first) this.sent += e.records;
      this.pump();
    });
  }

  /** Re-publishes envelopes unacknowledged for `republishMs` when acks have not moved for as long. */
  tick(now = Date.now()): void {
    if (this.unacked.length === 0 || now - this.lastProgress < this.o.republishMs) return;
    for (const e of this.unacked) {
      if (e.sending > 0 || now - e.lastSentAt < this.o.republishMs) continue;
      e.lastSentAt = now;
      this.republished++;
      this.send(e, false);
    }
    this.lastProgress = now;
  }

  /**
   * On a resend request: every envelope not yet acknowledged, in flight or not, goes out again now. Not a
   * lack of progress: the re-publish timer is left as it is.
   */
  private resendUnacked(): void {
    if (!this.client) return;
    const now = Date.now();
    this.resends++;
    for (const e of this.unacked) {
      e.lastSentAt = now;
      this.republished++;
      this.send(e, false);
    }
  }

  private onAck(p: Buffer): void {
    const a = ackFor(p, this.ep);
    if (a === 'resend') return this.o.honourResends === false ? undefined : this.resendGate.request();
    if (!a || a.seq <= this.acked) return;
    this.acked = Math.min(a.seq, this.nextSeq - 1);
    const now = Date.now();
    this.lastProgress = now;
    // Shifted before the optional call: `f?.(x)` does not evaluate x when f is unset.
    while (this.unacked.length > 0 && this.unacked[0]!.last <= this.acked) {
      const e = this.unacked.shift()!;
      this.onAcked?.(e, now);
    }
    if (this.settled) for (const w of this.waiters.splice(0)) w();
  }

  /** Everything handed over is acknowledged. */
  get settled(): boolean {
    return this.acked === this.nextSeq - 1 && this.pending.length === 0;
  }

  /** Resolves once everything handed over so far is acknowledged. */
  whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.resendGate.close();
    await this.client?.endAsync(true);
  }
}
