// An ingest worker: reads its shards of up/ with a persistent session, validates envelopes, writes
// records to the database, and acknowledges each gateway's watermark only after durable writes.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { decodeAck, decodeBatch, encodeAck, DEFAULT_LIMITS, EnvelopeError, type SampleRecord } from '../protocol/envelope.ts';
import { log } from '../protocol/log.ts';
import { shardsOwned, Topics } from '../protocol/topics.ts';
import { recordLine, type SiteInfo } from './schema.ts';
import type { LineSink } from './sinks/line-sink.ts';
import { Watermarks } from './watermarks.ts';

export interface WorkerOptions {
  url: string;
  username?: string;
  password?: string;
  index: number;
  workers: number;
  prefix: string;
  shards: number;
  sink: LineSink;
  sites?: Map<string, SiteInfo>;
  /** Client id; the broker keeps this worker's session (and queued messages) under it while it is away. */
  clientId?: string;
}

const DLQ_PAYLOAD_MAX = 64 * 1024;

export class IngestWorker {
  private client!: MqttClient;
  readonly topics: Topics;
  readonly watermarks = new Watermarks();
  private dirty = new Set<string>();
  private ackQueued = false;
  stats = { envelopes: 0, records: 0, rejectedEnvelopes: 0, rejectedRecords: 0, acks: 0 };

  constructor(readonly o: WorkerOptions) {
    this.topics = new Topics(o.prefix, o.shards);
  }

  get clientId(): string { return this.o.clientId ?? `qingcheng-ingest-${this.o.index}-of-${this.o.workers}`; }
  get connected(): boolean { return this.client?.connected ?? false; }

  async start(): Promise<this> {
    let ready = () => {};
    const subscribed = () => ready();
    this.client = mqtt.connect(this.o.url, {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      ...(this.o.username !== undefined ? { username: this.o.username } : {}),
      ...(this.o.password !== undefined ? { password: this.o.password } : {}),
    });
    // MQTT.js hands over one packet at a time and sends PUBACK after the callback: awaiting room in the
    // sink here is what stops reading from the broker while the database is slow.
    this.client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      this.onPublish(packet).then(() => done(), (e: Error) => {
        log('error', 'message handling failed', { topic: packet.topic, error: e.message });
        done();
      });
    };
    this.client.on('connect', (connack) => {
      const shards = shardsOwned(this.o.index, this.o.workers, this.o.shards);
      const subs: Record<string, { qos: 1 }> = { [`${this.o.prefix}/ack/+`]: { qos: 1 } };
      for (const s of shards) subs[this.topics.upShard(s)] = { qos: 1 };
      if (!connack.sessionPresent) log('info', 'ingest session is new; subscribing', { client: this.clientId, shards });
      this.client.subscribe(subs, (err, granted) => {
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (err || refused.length) log('error', 'subscription refused: is this user an ingest user in the broker users file?', { topics: refused, error: err?.message });
        else subscribed();
      });
      // Acknowledgements are retained, so republishing our own keeps them across a broker restart.
      for (const gw of this.known) this.dirty.add(gw);
      this.queueAcks();
    });
    this.client.on('error', (e) => log('warn', 'ingest mqtt error', { error: e.message }));
    // Started means subscribed: from here on the broker keeps this worker's messages in its session.
    await new Promise<void>((resolve, reject) => {
      ready = resolve;
      this.client.once('error', (e) => { if (!this.client.connected) reject(e); });
    });
    return this;
  }

  /** Gateways this worker has acknowledged, to re-assert their retained acks after a reconnect. */
  private known = new Set<string>();

  private async onPublish(packet: IPublishPacket): Promise<void> {
    const kind = this.topics.parse(packet.topic)?.kind;
    const payload = packet.payload as Buffer;
    if (kind === 'ack') return this.onRetainedAck(packet.topic, payload);
    if (kind !== 'up') return;
    const gw = this.topics.upGateway(packet.topic);
    if (!gw) return;
    let batch;
    try {
      batch = decodeBatch(payload, DEFAULT_LIMITS);
      if (batch.header.gw !== gw) throw new EnvelopeError(`gateway ${batch.header.gw} published on the topic of gateway ${gw}`, 'gw');
    } catch (e) {
      this.stats.rejectedEnvelopes++;
      this.deadLetter(gw, (e as Error).message, payload);
      return;
    }
    const { header, records } = batch;
    this.stats.envelopes++;
    this.known.add(gw);
    const lines: string[] = [];
    const rejects: string[] = [];
    records.forEach((r, k) => {
      if (r instanceof EnvelopeError) rejects.push(`seq ${header.seq + k}: ${r.message}`);
      else lines.push(recordLine(gw, header.seq + k, r as SampleRecord, this.o.sites?.get((r as SampleRecord).dev)));
    });
    if (rejects.length) {
      this.stats.rejectedRecords += rejects.length;
      this.deadLetter(gw, rejects.join('; '), payload);
    }
    const settle = () => {
      // Rejected records are settled too: they are in the dead-letter queue, and waiting for them would stall the gateway.
      let moved = false;
      for (const [from, to] of header.gap ?? []) moved = this.watermarks.settle(gw, header.ep, from, to) !== null || moved;
      if (records.length) moved = this.watermarks.settle(gw, header.ep, header.seq, header.seq + records.length - 1) !== null || moved;
      if (moved) { this.dirty.add(gw); this.queueAcks(); }
    };
    this.stats.records += lines.length;
    await this.o.sink.write(lines, settle, (reason) => this.deadLetter(gw, reason, payload));
  }

  private onRetainedAck(topic: string, payload: Buffer): void {
    const gw = this.topics.parse(topic)?.levels[0];
    if (!gw || payload.length === 0) return;
    try {
      const a = decodeAck(payload);
      const mine = this.watermarks.get(gw);
      if (!mine || mine.ep === a.ep) this.watermarks.restore(gw, a.ep, a.seq);
    } catch { /* someone else's malformed ack: nothing to restore */ }
  }

  /** Acknowledgements are coalesced: one retained message per gateway per turn of the event loop. */
  private queueAcks(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    setImmediate(() => {
      this.ackQueued = false;
      if (!this.client.connected) return;
      for (const gw of this.dirty) {
        const w = this.watermarks.get(gw);
        if (!w) continue;
        this.stats.acks++;
        this.client.publish(this.topics.ack(gw), encodeAck({ ...w, t: Date.now() }), { qos: 1, retain: true });
      }
      this.dirty.clear();
    });
  }

  private deadLetter(gw: string, reason: string, payload: Buffer): void {
    log('warn', 'rejected input sent to the dead-letter queue', { gw, reason: reason.slice(0, 300) });
    const body = JSON.stringify({ ts: Date.now(), gw, reason, payload: payload.subarray(0, DLQ_PAYLOAD_MAX).toString('utf8'), truncated: payload.length > DLQ_PAYLOAD_MAX });
    this.client.publish(this.topics.dlq(gw), body, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.o.sink.drain();
    this.o.sink.close();
    await new Promise<void>((r) => setImmediate(r));
    await this.client.endAsync();
  }
}
