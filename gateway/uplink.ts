// MQTT uplink (docs/protocol.md §6): publishes outbox records as envelopes at QoS 1 with a bounded window,
// newest data first so live readings never wait behind a backlog; applies ingest's watermark from the
// retained ack/{gw}; re-publishes what stays unacknowledged; keeps status/{gw} with a last will.
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeAckMessage,
  DEFAULT_LIMITS,
  encodeEnvelopeOf,
  RESEND_MIN_INTERVAL_MS,
  type Refusal,
  type ResendRequest,
} from '../protocol/envelope.ts';
import { reconnectDelay } from '../protocol/backoff.ts';
import { log } from '../protocol/log.ts';
import { encodeStatus, OFFLINE_STATUS, type OnlineStatus } from '../protocol/messages.ts';
import { Topics } from '../protocol/topics.ts';
import type { GatewayConfig } from './config.ts';
import type { Outbox, StoredRecord } from './outbox.ts';

interface InFlight {
  from: number;
  to: number;
  gen: number;
}

export class Uplink {
  private client!: MqttClient;
  private topics: Topics;
  private inflight = new Set<InFlight>();
  private gen = 0;
  /** Whose turn the last envelope was: the first one after a start carries the newest records. */
  private liveTurn = false;
  private timer?: NodeJS.Timeout;
  private pumping = false;
  stats = { envelopes: 0, published: 0, republished: 0, acks: 0, errors: 0, refused: 0, resends: 0 };
  /** The last envelope ingest refused, for status/{gw}. */
  lastRefusal?: Refusal;
  /** Ingest's clock minus ours, from the latest acknowledgement (positive: our clock is behind). */
  clockOffsetMs: number | null = null;
  /** Extra fields for status/{gw} (device health, sampling counters), filled in by the gateway. */
  statusExtra: () => Pick<OnlineStatus, 'devices' | 'sampling' | 'pushed' | 'listening' | 'capture'> = () => ({
    devices: { up: [], degraded: [], down: [] },
    sampling: {},
  });

  constructor(
    private cfg: GatewayConfig,
    private outbox: Outbox,
  ) {
    this.topics = new Topics(cfg.mqtt.prefix, cfg.mqtt.shards);
    this.republishMs = cfg.mqtt.republishMs;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const m = this.cfg.mqtt;
    for (const url of m.urls) warnIfPlain(this.cfg.id, url);
    this.client = mqtt.connect(m.url, {
      ...this.tlsOptions(),
      ...(m.urls.length > 1 ? { servers: m.urls.map(serverOf) } : {}),
      clientId: this.cfg.id,
      ...(m.username !== undefined ? { username: m.username } : {}),
      ...(m.password !== undefined ? { password: m.password } : {}),
      clean: true,
      reconnectPeriod: reconnectDelay(0),
      connectTimeout: 10_000,
      protocolVersion: 4,
      will: { topic: this.topics.status(this.cfg.id), payload: Buffer.from(OFFLINE_STATUS), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.failedConnects = 0;
      this.client.options.reconnectPeriod = reconnectDelay(0);
      const o = this.client.options;
      const url = m.urls.length > 1 ? `${o.protocol}://${o.host}:${o.port}` : m.url;
      log('info', 'uplink connected', { gw: this.cfg.id, url, outbox: this.outbox.depth });
      this.client.subscribe(this.topics.ack(this.cfg.id), { qos: 1 }, (err, granted) => {
        if (err || granted?.[0]?.qos === 128)
          log('error', 'cannot subscribe to acknowledgements: check the gateway user in the broker users file', {
            gw: this.cfg.id,
            topic: this.topics.ack(this.cfg.id),
          });
      });
      this.publishStatus();
      this.pump();
    });
    this.client.on('message', (topic, payload) => this.onAck(topic, payload));
    // MQTT.js keeps the TLS server name of the first broker it reached on its options: with a list of
    // brokers, each must be checked against its own name.
    if (m.urls.length > 1) this.client.on('reconnect', () => delete this.client.options.servername);
    this.client.on('close', () => this.onClose());
    this.client.on('error', (e) => {
      this.stats.errors++;
      log('warn', 'uplink error', { gw: this.cfg.id, error: e.message });
    });
    this.timer = setInterval(() => this.tick(), 1000);
  }

  /**
   * The CA the broker's certificate must chain to (its name is checked against the URL's host), and the
   * client certificate when the gateway logs in with one. Read at each start and reloadTls().
   */
  private tlsOptions(): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
    const t = this.cfg.mqtt.tls;
    if (!t) return {};
    return {
      rejectUnauthorized: true,
      ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
      ...(t.cert && t.key ? { cert: readFileSync(t.cert), key: readFileSync(t.key) } : {}),
    };
  }

  /** Reads the TLS files again (SIGHUP): the next connection uses them; the open one keeps its own. */
  reloadTls(): boolean {
    if (!this.cfg.mqtt.tls || !this.client) return false;
    try {
      Object.assign(this.client.options, this.tlsOptions());
      return true;
    } catch (e) {
      log('error', 'uplink TLS files not reloaded; the ones loaded before stay', { error: (e as Error).message });
      return false;
    }
  }

  private onAck(topic: string, payload: Buffer): void {
    if (topic !== this.topics.ack(this.cfg.id)) return;
    let msg;
    try {
      msg = decodeAckMessage(payload);
    } catch (e) {
      log('warn', 'bad acknowledgement', { error: (e as Error).message });
      return;
    }
    if ('refused' in msg) return this.onRefusal(msg.refused);
    if ('resend' in msg) return this.onResendRequest(msg.resend);
    const ack = msg.ack;
    if (ack.ep !== this.outbox.epoch) return; // an acknowledgement of an earlier outbox (wiped disk): not ours
    this.stats.acks++;
    // A retained ack may be old; only a fresh one (it moved the watermark) says what time it is now.
    if (ack.t !== undefined && ack.seq > this.outbox.acked) this.clockOffsetMs = ack.t - Date.now();
    if (this.outbox.ack(ack.seq) > 0) {
      this.lastProgress = Date.now();
      this.republishMs = this.cfg.mqtt.republishMs;
    }
    this.pump();
  }

  /**
   * Ingest refused an envelope's header: none of it will be acknowledged while it stays that way. The
   * records stay in the outbox (re-publishing may heal a one-off fault), and the reason goes to the log
   * and to status/{gw}, where operators see it, instead of a silent stall.
   */
  private onRefusal(r: Refusal): void {
    this.stats.refused++;
    this.lastRefusal = r;
    const seqs = r.from !== undefined ? `${r.from}–${r.to}` : 'unknown';
    log('error', `ingest refused an envelope (seqs ${seqs}): ${r.reason}`, { gw: this.cfg.id });
    this.publishStatus();
  }

  private lastResend = -Infinity;
  /** A request that came within RESEND_MIN_INTERVAL_MS of the last resend: served when that has passed. */
  private resendDue = false;

  /**
   * A worker has just started reading this gateway's shard: what was published while the shard moved
   * went to nobody, so everything unacknowledged goes out again now instead of after `republish_s`.
   */
  private onResendRequest(r: ResendRequest): void {
    if (r.ep !== this.outbox.epoch) return; // about an earlier outbox: nothing of it is left to send
    this.resendDue = true;
    this.resendIfDue();
  }

  private resendIfDue(): void {
    const now = Date.now();
    if (!this.resendDue || now - this.lastResend < RESEND_MIN_INTERVAL_MS) return;
    this.resendDue = false;
    this.lastResend = now;
    // Every record sent and not acknowledged; in flight ones too (a copy is the same point). Not a lack
    // of progress: the back-off interval stays as it is.
    const expired = this.outbox.expireSent(Number.MAX_SAFE_INTEGER);
    this.stats.resends++;
    this.stats.republished += expired;
    log('info', "republishing unacknowledged records at ingest's request", { gw: this.cfg.id, records: expired });
    this.pump();
  }

  /** Connection attempts that failed since the last success: they set the next wait. */
  private failedConnects = 0;

  /** Envelopes in flight when the connection dropped go back to the outbox; late callbacks are ignored. */
  private onClose(): void {
    // MQTT.js reads reconnectPeriod each time it schedules a reconnect: backing off with jitter keeps
    // a thousand gateways from knocking on a restarted broker in the same second.
    if (this.client) this.client.options.reconnectPeriod = reconnectDelay(++this.failedConnects);
    for (const f of this.inflight) this.outbox.markUnsent(f.from, f.to);
    this.inflight.clear();
    this.gen++;
  }

  private lastProgress = Date.now();
  private republishMs: number;
  /** How long the uplink now waits for progress before it re-publishes (doubles while nothing is acknowledged). */
  get republishIntervalMs(): number {
    return this.republishMs;
  }

  /**
   * Re-publishes what ingest has not acknowledged in time. While acknowledgements make no progress at
   * all (ingest down), the interval doubles up to 10 minutes, so an outage does not fill the broker
   * with copies of the same records.
   */
  private tick(): void {
    const now = Date.now();
    if (now - this.lastProgress >= this.republishMs) {
      const expired = this.outbox.expireSent(now - this.cfg.mqtt.republishMs);
      if (expired) {
        this.stats.republished += expired;
        log('info', 'republishing unacknowledged records', {
          gw: this.cfg.id,
          records: expired,
          next_check_s: Math.round((this.republishMs * 2) / 1000),
        });
        this.lastProgress = now;
        this.republishMs = Math.min(this.republishMs * 2, 600_000);
      }
    }
    this.resendIfDue();
    if (Date.now() - this.lastStatus >= this.cfg.mqtt.statusMs) this.publishStatus();
    this.pump();
  }

  /** Fills the window with envelopes, alternating between the newest records and the oldest backlog. */
  pump(): void {
    if (this.pumping || !this.client?.connected) return;
    this.pumping = true;
    try {
      const m = this.cfg.mqtt;
      // Unacknowledged records stay bounded; past the cap the outbox holds the rest on disk.
      let unacked = this.outbox.unackedCount();
      while (this.inflight.size < m.window && unacked < m.maxUnacked) {
        const batch = this.pick();
        if (!batch) break;
        this.send(batch);
        unacked += batch.length;
      }
    } finally {
      this.pumping = false;
    }
  }

  private pick(): StoredRecord[] | null {
    const max = this.cfg.mqtt.batchMax;
    const live = this.outbox.newestUnsent(max);
    this.liveTurn = !this.liveTurn;
    if (!this.liveTurn) {
      const old = this.outbox.oldestUnsent(max);
      if (old.length && (!live.length || old[0]!.seq < live[0]!.seq)) return fitBytes(old, 'oldest');
    }
    return live.length ? fitBytes(live, 'newest') : null;
  }

  private send(batch: StoredRecord[]): void {
    const from = batch[0]!.seq;
    const to = batch[batch.length - 1]!.seq;
    const settled = this.outbox.settled();
    const env = encodeEnvelopeOf(
      { gw: this.cfg.id, ep: this.outbox.epoch, seq: from, gap: settled },
      batch.map((r) => r.body),
    );
    this.outbox.markSent(from, to);
    const f: InFlight = { from, to, gen: this.gen };
    this.inflight.add(f);
    this.stats.envelopes++;
    this.stats.published += batch.length;
    this.client.publish(this.topics.up(this.cfg.id), env, { qos: 1 }, (err) => {
      if (f.gen !== this.gen) return;
      this.inflight.delete(f);
      if (err) {
        this.outbox.markUnsent(from, to);
        this.stats.errors++;
      }
      this.pump();
    });
  }

  private lastStatus = 0;

  publishStatus(): void {
    if (!this.client?.connected) return;
    this.lastStatus = Date.now();
    const body = encodeStatus({
      state: 'online',
      ts: this.lastStatus,
      ep: this.outbox.epoch,
      next_seq: this.outbox.next,
      acked: this.outbox.acked,
      clock_offset_ms: this.clockOffsetMs,
      outbox: { depth: this.outbox.depth, evicted: this.outbox.evicted },
      uplink: { ...this.stats, inflight: this.inflight.size },
      ...(this.lastRefusal ? { last_refusal: refusalOf(this.lastRefusal) } : {}),
      ...this.statusExtra(),
    });
    this.client.publish(this.topics.status(this.cfg.id), body, { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.client?.connected) {
      await new Promise<void>((resolve) =>
        this.client.publish(this.topics.status(this.cfg.id), OFFLINE_STATUS, { qos: 1, retain: true }, () => resolve()),
      );
    }
    await this.client?.endAsync();
  }
}

function refusalOf(r: Refusal): NonNullable<OnlineStatus['last_refusal']> {
  return { reason: r.reason, ...(r.from !== undefined ? { from: r.from, to: r.to! } : {}), ts: r.t };
}

function serverOf(url: string): { host: string; port: number; protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp' } {
  const u = new URL(url);
  const protocol = u.protocol.slice(0, -1) as 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp';
  const port = Number(u.port) || ({ mqtt: 1883, tcp: 1883, mqtts: 8883, ws: 80, wss: 443 } as const)[protocol];
  return { host: u.hostname, port, protocol };
}

/** A password crossing a network in the clear is worth one line at start. */
function warnIfPlain(gw: string, url: string): void {
  const u = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (!loopback && (u.protocol === 'mqtt:' || u.protocol === 'ws:' || u.protocol === 'tcp:'))
    log('warn', 'uplink without TLS: the login and the data cross the network in the clear (use mqtts://)', {
      gw,
      url,
    });
}

/** Room for records in one envelope: the 1 MiB envelope limit less room for the header and gaps. */
const ENVELOPE_RECORD_BYTES = DEFAULT_LIMITS.maxBytes - 64 * 1024;

/**
 * Cuts a run of records (ascending seq) to what fits one envelope, keeping its newest or its oldest end
 * so the run stays contiguous. A broker closes a connection that sends a packet over its limit, and the
 * decoder refuses an envelope over 1 MiB: records of many fields or long attributes must not add up to that.
 */
export function fitBytes(batch: StoredRecord[], keep: 'newest' | 'oldest'): StoredRecord[] {
  let bytes = 0;
  const order = keep === 'newest' ? [...batch].reverse() : batch;
  let n = 0;
  for (const r of order) {
    bytes += Buffer.byteLength(r.body) + 1;
    if (bytes > ENVELOPE_RECORD_BYTES && n > 0) break;
    n++;
  }
  return n === batch.length ? batch : keep === 'newest' ? batch.slice(batch.length - n) : batch.slice(0, n);
}
