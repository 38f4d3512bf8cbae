// An ingest worker: reads its shards of up/ with a persistent session, validates envelopes, writes
// records to the database, and acknowledges each gateway's watermark only after durable writes.
// Its shards are fixed by its index (s mod workers = index), or, with leases, taken and given back
// through Redis (leases.ts) as workers come and go.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import {
  claimedRange,
  decodeAck,
  decodeBatch,
  encodeAck,
  encodeRefusal,
  encodeResendRequest,
  DEFAULT_LIMITS,
  EnvelopeError,
  type SampleRecord,
} from '../protocol/envelope.ts';
import { readingSpans } from '../protocol/envelope-spans.ts';
import { log } from '../protocol/log.ts';
import { shardOf, shardsOwned, Topics } from '../protocol/topics.ts';
import type { DeviceSettings } from './engine/devices.ts';
import { CityWatch } from './engine/city.ts';
import { Engine } from './engine/engine.ts';
import type { Timing } from './engine/judges/judge.ts';
import type { RsdSettings } from '../standards/rsd.ts';
import { Capture } from './capture.ts';
import { ShardLeases } from './leases.ts';
import { devicesOfGateways, restoreFromDatabase, restoreOpenAlarms } from './restore.ts';
import { recordLine, writeRecordLine } from './schema.ts';
import { LineWriter } from './line-writer.ts';
import { InfluxQL } from './sinks/influxql.ts';
import type { LineSink } from './sinks/line-sink.ts';
import { Watermarks } from './watermarks.ts';
import {
  encodeDeadLetter,
  encodeIngestState,
  OFFLINE_STATUS,
  type IngestState,
  type RestoreSummary,
} from '../protocol/messages.ts';

export interface WorkerOptions {
  url: string;
  username?: string;
  password?: string;
  index: number;
  workers: number;
  prefix: string;
  shards: number;
  sink: LineSink;
  /** Per-device site tags and rule settings (the --devices file). */
  devices?: Map<string, DeviceSettings>;
  /** Alarm timing; the defaults are one minute to open and one to close. */
  timing?: Timing;
  /** Remote-sensing limits and the repeat-offender rule (the --devices file's rsd: section). */
  rsd?: RsdSettings;
  /** Run the city-level watch under this name (in exactly one worker of a deployment). */
  city?: string;
  /** Client id; the broker keeps this worker's session (and queued messages) under it while it is away. */
  clientId?: string;
  /** Take shards by lease in Redis instead of by index (index and workers are then unused). */
  leases?: { redisUrl: string; ttlMs: number; token?: string };
}

export class IngestWorker {
  private client!: MqttClient;
  readonly topics: Topics;
  readonly watermarks = new Watermarks();
  readonly engine: Engine;
  readonly city?: CityWatch;
  /**
   * Per gateway: the seqs the engine has applied, so a replay is not applied twice. Ranges, not a high
   * mark: backlog arrives after newer live data, and is still judged.
   */
  readonly applied = new Watermarks();
  private dirty = new Set<string>();
  private ackQueued = false;
  stats = {
    envelopes: 0,
    records: 0,
    rejectedEnvelopes: 0,
    rejectedRecords: 0,
    acks: 0,
    engineErrors: 0,
    /** Resend requests published to the gateways of shards taken by lease (docs/protocol.md §5.1). */
    resendRequests: 0,
  };

  /** With leases: the shards held, and those of them restored and subscribed (read). */
  readonly leases?: ShardLeases;
  private reading = new Set<number>();
  /** Each device's gateway, as records show it: which devices a shard holds. */
  private deviceGateway = new Map<string, string>();
  /** Shards taken are restored and subscribed one batch at a time, in order. */
  private gains: Promise<void> = Promise.resolve();
  /** Envelopes of shards this worker did not hold when they arrived: neither written nor acknowledged. */
  unowned = 0;

  constructor(readonly o: WorkerOptions) {
    this.topics = new Topics(o.prefix, o.shards);
    if (o.leases)
      this.leases = new ShardLeases({
        redisUrl: o.leases.redisUrl,
        ttlMs: o.leases.ttlMs,
        shards: o.shards,
        namespace: o.prefix,
        ...(o.leases.token ? { token: o.leases.token } : {}),
      });
    this.engine = new Engine(this.topics, { devices: o.devices, timing: o.timing, rsd: o.rsd });
    if (o.city) this.city = new CityWatch(o.city, this.topics);
  }

  private credentials(): { username?: string; password?: string } {
    return {
      ...(this.o.username !== undefined ? { username: this.o.username } : {}),
      ...(this.o.password !== undefined ? { password: this.o.password } : {}),
    };
  }

  get clientId(): string {
    const user = this.o.username ?? 'qingcheng-ingest';
    if (this.o.clientId) return this.o.clientId;
    return this.leases ? `${user}-lease-${this.leases.token}` : `${user}-${this.o.index}-of-${this.o.workers}`;
  }

  /** The shards read now: by index, or those held by lease, restored and subscribed. */
  get shards(): number[] {
    if (!this.leases) return shardsOwned(this.o.index, this.o.workers, this.o.shards);
    return [...this.reading].filter((s) => this.leases!.holds(s)).sort((a, b) => a - b);
  }
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** What this worker rebuilt at start-up (alarms from the broker, the rest from the database). */
  restored: RestoreSummary = { alarms: 0, air_windows: 0, replayed_devices: 0, replayed_samples: 0, rsd_passes: 0 };

  /** Restores its state, connects and subscribes; rejects with the reason when the broker refuses either. */
  async start(): Promise<this> {
    // With leases a worker starts with no shard: each shard's alarms come back when it is taken.
    const alarms = await this.restoreAlarms(this.leases ? (dev) => this.engineFor(dev) !== this.engine : () => true);
    const db = await restoreFromDatabase({
      db: new InfluxQL(this.o.sink.endpoint),
      engine: this.engine,
      capture: this.capture,
      engineFor: (dev, gw) => {
        const e = this.engineFor(dev);
        return e !== this.engine || this.owns(gw) ? e : null;
      },
    });
    this.restored = {
      alarms,
      air_windows: db.airWindows,
      replayed_devices: db.replayedDevices,
      replayed_samples: db.replayedSamples,
      rsd_passes: db.plates,
      capture_hours: db.captureHours,
    };
    let subscribed = () => {};
    let refused = (_e: Error) => {};
    const stateTopic = this.topics.ingestState(this.clientId);
    this.client = mqtt.connect(this.o.url, {
      clientId: this.clientId,
      // A leased shard moves between workers: a persistent session would keep queueing a shard its
      // worker gave back, or all of a dead worker's shards, for nobody. The gateways re-publish what
      // a new owner has not acknowledged (docs/protocol.md §6.5).
      clean: this.leases !== undefined,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      will: { topic: stateTopic, payload: Buffer.from(OFFLINE_STATUS), qos: 1, retain: true },
      ...this.credentials(),
    });
    // MQTT.js hands over one packet at a time and sends PUBACK after the callback: awaiting room in the
    // sink here is what stops reading from the broker while the database is slow.
    this.client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const failed = (e: Error) => {
        log('error', 'message handling failed', { topic: packet.topic, error: e.message });
        // Nothing of it was settled: its gateway hears why instead of waiting in silence.
        const gw = this.topics.upGateway(packet.topic);
        if (gw) this.refuse(gw, `ingest failed on it: ${e.message}`, packet.payload as Buffer);
        done();
      };
      // Handled at once when the sink has room, as it mostly has: no promise to wait on per message.
      let waiting: Promise<void> | undefined;
      try {
        waiting = this.onPublish(packet);
      } catch (e) {
        return failed(e as Error);
      }
      if (waiting) waiting.then(() => done(), failed);
      else done();
    };
    let connects = 0;
    this.client.on('connect', (connack) => {
      // A lease worker's session is clean: whatever its shards' gateways published while it was away went
      // to nobody, so once subscribed again it asks them to re-publish (not on the first connect: no shard yet).
      const resend = this.leases !== undefined && connects++ > 0;
      const subs: Record<string, { qos: 1 }> = { [`${this.o.prefix}/ack/+`]: { qos: 1 } };
      const shards = this.shards;
      for (const s of shards) subs[this.topics.upShard(s)] = { qos: 1 };
      if (this.city) for (const k of ['air.station', 'air.micro']) subs[`${this.o.prefix}/live/${k}/+`] = { qos: 1 };
      if (!connack.sessionPresent) log('info', 'ingest session is new; subscribing', { client: this.clientId, shards });
      this.client.subscribe(subs, (err, granted) => {
        const topics = refusedFilters(subs, err, granted);
        if (topics.length) {
          const why = this.refusal(topics);
          log('error', why);
          refused(new Error(why));
          return;
        }
        if (resend && shards.length) this.requestResends(new Set(shards), 'reconnected');
        this.publishState();
        subscribed();
      });
      // Acknowledgements are retained, so republishing our own keeps them across a broker restart.
      for (const gw of this.known) this.dirty.add(gw);
      this.queueAcks();
    });
    this.client.on('error', (e) => log('warn', 'ingest mqtt error', { error: e.message }));
    this.client.on('packetreceive', () => this.corkTurn());
    // Started means subscribed: from here on the broker keeps this worker's messages in its session.
    try {
      await new Promise<void>((resolve, reject) => {
        subscribed = resolve;
        refused = reject;
        this.client.once('error', (e) => {
          if (!this.client.connected) reject(e);
        });
      });
    } catch (e) {
      await this.client.endAsync(true);
      throw e;
    }
    if (this.leases) {
      try {
        await this.leases.start({ gained: (s) => this.onGained(s), lost: (s) => this.onLost(s) });
      } catch (e) {
        await this.client.endAsync(true);
        throw e;
      }
    }
    return this;
  }

  private corked: NodeJS.WriteStream | null = null;

  /**
   * Holds what this worker writes to the broker (PUBACKs, acks) until the end of this turn of the event
   * loop: MQTT.js writes each PUBACK in its own system call, one per envelope, and a turn that reads
   * fifty envelopes then sends their PUBACKs in one.
   */
  private corkTurn(): void {
    const stream = this.client.stream as unknown as NodeJS.WriteStream | undefined;
    if (this.corked || !stream?.cork) return;
    this.corked = stream;
    stream.cork();
    setImmediate(() => {
      this.corked = null;
      stream.uncork();
    });
  }

  /** The retained sys/ingest/{clientId}/state: what this worker reads now. */
  private publishState(): void {
    if (!this.client.connected) return;
    const l = this.leases;
    const state: IngestState = {
      state: 'running',
      ts: Date.now(),
      worker: l ? -1 : this.o.index,
      workers: l ? l.liveWorkers : this.o.workers,
      shards: this.shards,
      restored: this.restored,
      ...(l
        ? {
            lease: {
              token: l.token,
              ttl_ms: l.ttlMs,
              gains: l.stats.gains,
              losses: l.stats.losses,
              resends: this.stats.resendRequests,
            },
          }
        : {}),
    };
    this.client.publish(this.topics.ingestState(this.clientId), encodeIngestState(state), { qos: 1, retain: true });
  }

  /**
   * Shards just taken by lease: their devices' state is rebuilt as a restart rebuilds it (open alarms
   * from the retained alert/{dev}, running periods from the database), and only then are they read.
   * Once read, their gateways are asked to re-publish what is unacknowledged at once.
   */
  private onGained(shards: number[]): void {
    this.gains = this.gains.then(async () => {
      const held = shards.filter((s) => this.leases!.holds(s));
      if (!held.length) return;
      try {
        const took = await this.restoreShards(new Set(held));
        log('info', 'shards taken over', { client: this.clientId, shards: held, ...took });
      } catch (e) {
        log('warn', 'restoring the shards taken over failed; they are read with the state they have', {
          shards: held,
          error: (e as Error).message,
        });
      }
      const now = held.filter((s) => this.leases!.holds(s));
      for (const s of now) this.reading.add(s);
      if (!now.length || !this.client.connected) return;
      const subs = Object.fromEntries(now.map((s) => [this.topics.upShard(s), { qos: 1 as const }]));
      const read = await this.client.subscribeAsync(subs).then(
        (granted) => {
          const refused = refusedFilters(subs, null, granted);
          if (refused.length) log('error', this.refusal(refused));
          return refused.length === 0;
        },
        (e: Error) => {
          log('error', this.refusal(Object.keys(subs)), { error: e.message });
          return false;
        },
      );
      if (read) this.requestResends(new Set(now), 'shards taken over');
      this.publishState();
    });
  }

  /**
   * What a shard's gateways published while it moved, or while this worker was away from the broker, went
   * to nobody (clean sessions), and they would re-publish it only after `republish_s`: each gateway of the
   * shards just subscribed is asked once to do it now. Gateways are known by their watermarks (this
   * worker's acks or the retained ones it follows); one never acknowledged by anyone is left to its
   * re-publish timer.
   */
  private requestResends(shards: Set<number>, why: 'shards taken over' | 'reconnected'): void {
    const t = Date.now();
    let n = 0;
    for (const gw of this.watermarks.gateways()) {
      if (!shards.has(shardOf(gw, this.o.shards))) continue;
      const w = this.watermarks.get(gw)!;
      this.client.publish(this.topics.ack(gw), encodeResendRequest({ ep: w.ep, from: w.seq + 1, t }), { qos: 1 });
      n++;
    }
    this.stats.resendRequests += n;
    if (n) log('info', 'asked the gateways of its shards to re-publish', { why, shards: [...shards], gateways: n });
  }

  /** Shards given back or lost: not read from now on (the fence already stops their acks). */
  private onLost(shards: number[]): void {
    for (const s of shards) this.reading.delete(s);
    if (!this.client.connected) return;
    this.client.unsubscribe(shards.map((s) => this.topics.upShard(s)));
    this.publishState();
  }

  private async restoreShards(
    shards: Set<number>,
  ): Promise<{ devices: number; alarms: number; replayed_samples: number }> {
    const inShards = (gw: string) => shards.has(shardOf(gw, this.o.shards));
    const db = new InfluxQL(this.o.sink.endpoint);
    const devices = await devicesOfGateways(db, inShards);
    for (const [dev, gw] of this.deviceGateway) if (inShards(gw)) devices.set(dev, gw);
    // What this worker knew of them is older than what their last owner left in alert/{dev}.
    for (const dev of devices.keys()) this.engine.forgetAlarms(dev);
    const alarms = await this.restoreAlarms(
      (dev) =>
        devices.has(dev) || (!db.available && !this.deviceGateway.has(dev) && this.engineFor(dev) === this.engine),
    );
    // What the retained read missed (see restoreOpenAlarms) comes from the database.
    const unread = [...devices.keys()].filter((dev) => this.engine.alarms.open(dev).length === 0);
    const fromDb = await restoreOpenAlarms(db, unread, this.engine).catch((e: Error) => {
      log('warn', 'cannot read open alarms of the shards taken over from the database', { error: e.message });
      return 0;
    });
    const got = await restoreFromDatabase({
      db,
      engine: this.engine,
      capture: this.capture,
      plates: false,
      engineFor: (dev, gw) => (devices.has(dev) || (gw !== undefined && inShards(gw)) ? this.engine : null),
    });
    return { devices: devices.size, alarms: alarms + fromDb, replayed_samples: got.replayedSamples };
  }

  private refusal(filters: string[]): string {
    return (
      `the broker refused the subscription to ${filters.join(', ')}: is "${this.o.username ?? '(anonymous)'}" an ingest user ` +
      `in the broker's users file, and is the topic prefix (${this.o.prefix}) the broker's?`
    );
  }

  /** Data-capture rates of this worker's devices. */
  readonly capture = new Capture();

  /** Gateways this worker has acknowledged, to re-assert their retained acks after a reconnect. */
  readonly known = new Set<string>();

  /** Handles one message; a promise when it must wait for room in the sink (or for the city watch). */
  private onPublish(packet: IPublishPacket): Promise<void> | undefined {
    const topic = this.topics.parse(packet.topic);
    const payload = packet.payload as Buffer;
    if (topic?.kind === 'ack') {
      this.onRetainedAck(packet.topic, payload);
      return;
    }
    if (topic?.kind === 'live') return this.onLive(payload);
    if (topic?.kind !== 'up' || topic.levels.length !== 2) return;
    const gw = topic.levels[1];
    if (!gw) return;
    if (this.leases && !this.owns(gw)) {
      // Delivered before the unsubscribe took effect: its new owner reads it when the gateway re-publishes.
      this.unowned++;
      return;
    }
    let batch;
    try {
      batch = decodeBatch(payload, DEFAULT_LIMITS);
      if (batch.header.gw !== gw)
        throw new EnvelopeError(`gateway ${batch.header.gw} published on the topic of gateway ${gw}`, 'gw');
    } catch (e) {
      this.stats.rejectedEnvelopes++;
      this.deadLetter(gw, (e as Error).message, payload);
      this.refuse(gw, (e as Error).message, payload);
      return;
    }
    const { header, records, dropped, fields } = batch;
    this.stats.envelopes++;
    this.known.add(gw);
    // Readings are copied into the lines from the payload's own text where it is laid out plainly.
    const spans = readingSpans(payload, records.length);
    const out = new LineWriter(payload.length + 96 * records.length, records.length + 8);
    const rejects: string[] = [];
    for (let k = 0; k < records.length; k++) {
      const r = records[k]!;
      const seq = header.seq + k;
      if (r instanceof EnvelopeError) {
        rejects.push(`seq ${seq}: ${r.message}`);
        continue;
      }
      // The record is stored without its refused fields; each is named in the dead letter.
      const left = dropped.get(k);
      if (left) for (const e of left) rejects.push(`seq ${seq}: ${e.message} (field left out, the rest stored)`);
      const site = this.o.devices?.get(r.dev);
      if (spans) writeRecordLine(out, gw, seq, r, site, payload, spans[2 * k]!, spans[2 * k + 1]!, fields[k]!);
      else out.text(recordLine(gw, seq, r, site));
      if (this.leases && this.deviceGateway.get(r.dev) !== gw) this.deviceGateway.set(r.dev, gw);
      this.guarded('data-capture counting', () => this.capture.record(gw, r), undefined);
      if (this.applied.has(gw, header.ep, seq)) continue; // a replay: the engine has seen it
      this.judge(gw, seq, r, out);
    }
    if (records.length) this.applied.settle(gw, header.ep, header.seq, header.seq + records.length - 1);
    for (const line of this.guarded('the exceedance engine on late data', () => this.engine.flushLate(), []))
      out.text(line);
    for (const line of this.guarded('data-capture counting', () => this.capture.flush(), [])) out.text(line);
    if (rejects.length) {
      this.stats.rejectedRecords += rejects.length;
      this.deadLetter(gw, rejects.join('; '), payload);
    }
    const settle = () => {
      // Rejected records are settled too: they are in the dead-letter queue, and waiting for them would stall the gateway.
      let moved = false;
      for (const [from, to] of header.gap ?? [])
        moved = this.watermarks.settle(gw, header.ep, from, to) !== null || moved;
      if (records.length)
        moved = this.watermarks.settle(gw, header.ep, header.seq, header.seq + records.length - 1) !== null || moved;
      // A re-published envelope wholly at or below the watermark: its gateway missed the ack that covered
      // it (one skipped while a lease lapsed, or lost in flight), and no later move would repeat it.
      const w = this.watermarks.get(gw);
      const missed = records.length > 0 && w?.ep === header.ep && header.seq + records.length - 1 <= w.seq;
      if (moved || missed) {
        this.dirty.add(gw);
        this.queueAcks();
      }
    };
    this.stats.records += out.lines;
    return this.o.sink.writeBytes(out.done(), settle, (reason) => this.deadLetter(gw, reason, payload));
  }

  /** Judges a record; its rows go into `out`, its messages out at once. A fault costs only the judging. */
  private judge(gw: string, seq: number, r: SampleRecord, out: LineWriter): void {
    try {
      const o = this.engine.process(r, gw);
      for (const p of o.points) out.text(p);
      for (const m of o.messages) this.client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    } catch (e) {
      this.stats.engineErrors++;
      log('error', 'exceedance engine failed on a record; the record is stored all the same', {
        gw,
        seq,
        dev: r.dev,
        error: (e as Error).message,
      });
    }
  }

  /**
   * Work beside storing a record (late revisions, capture counting) must never cost it, as judging
   * must not: a fault in it is logged and counted, and `fallback` stands in for its result.
   */
  private guarded<T>(what: string, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.stats.engineErrors++;
      log('error', `${what} failed; the records are stored all the same`, { error: (e as Error).message });
      return fallback;
    }
  }

  /** Feeds the city watch; its rows are written like any others, its messages published. */
  private async onLive(payload: Buffer): Promise<void> {
    if (!this.city) return;
    const out = this.city.onLive(payload.toString());
    for (const m of out.messages) this.client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    await this.o.sink.write(out.points, () => undefined);
  }

  /**
   * Open alarms are retained on alert/{dev}. Before the persistent session starts delivering data, a
   * short-lived connection reads them back, so a restart neither loses an open alarm nor raises it again.
   * A message of our own on sys/ingest/… comes back after the retained ones, which ends the read.
   */
  private async restoreAlarms(accept: (dev: string) => boolean): Promise<number> {
    const c = mqtt.connect(this.o.url, {
      clientId: `${this.clientId}-restore`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
      ...this.credentials(),
    });
    const sync = this.topics.ingestSync(this.clientId);
    let restored = 0;
    const points: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        c.once('error', reject);
        c.on('message', (topic, payload, packet) => {
          if (topic === sync) return resolve();
          if (!packet.retain || payload.length === 0) return;
          const dev = this.topics.parse(topic)?.levels[0] ?? '';
          if (!accept(dev)) return;
          const engine = this.engineFor(dev);
          try {
            points.push(...engine.restore(payload.toString()));
            restored++;
          } catch (e) {
            log('warn', 'cannot restore alarms', { topic, error: (e as Error).message });
          }
        });
        c.once('connect', () => {
          const subs = { [`${this.o.prefix}/alert/+`]: { qos: 1 as const }, [sync]: { qos: 1 as const } };
          c.subscribe(subs, (err, granted) => {
            const refused = refusedFilters(subs, err, granted);
            if (refused.length) return reject(new Error(this.refusal(refused)));
            c.publish(sync, 'sync', { qos: 1 });
          });
        });
        c.once('close', () =>
          reject(new Error('the broker closed the connection while this worker read the open alarms back')),
        );
      });
    } finally {
      await c.endAsync(true);
    }
    if (restored) log('info', 'open alarms restored', { devices: restored, alarms: points.length });
    await this.o.sink.write(points, () => undefined);
    return points.length;
  }

  /** The city's own series lives in the city watch's engine; every device in the worker's. */
  private engineFor(dev: string): Engine {
    return this.city && dev === this.city.dev ? this.city.engine : this.engine;
  }

  /** Whether this worker owns a gateway's devices: the gateway's shard is one of ours. */
  private owns(gw: string | undefined): boolean {
    if (this.leases) return gw !== undefined && this.leases.holds(shardOf(gw, this.o.shards));
    if (this.o.workers === 1) return true;
    return (
      gw !== undefined && shardsOwned(this.o.index, this.o.workers, this.o.shards).includes(shardOf(gw, this.o.shards))
    );
  }

  private onRetainedAck(topic: string, payload: Buffer): void {
    const gw = this.topics.parse(topic)?.levels[0];
    if (!gw || payload.length === 0) return;
    try {
      const a = decodeAck(payload);
      const mine = this.watermarks.get(gw);
      if (!mine || mine.ep === a.ep) {
        this.watermarks.restore(gw, a.ep, a.seq);
        // Acknowledged means written, and written means judged: a restarted worker does not judge those again.
        this.applied.restore(gw, a.ep, a.seq);
      }
    } catch {
      /* someone else's malformed ack: nothing to restore */
    }
  }

  /** Acknowledgements are coalesced: one retained message per gateway per turn of the event loop. */
  private queueAcks(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    setImmediate(() => {
      this.ackQueued = false;
      if (!this.client.connected) return;
      for (const gw of this.dirty) {
        // Fencing: a shard whose lease may have passed to another worker is acknowledged by that one.
        if (this.leases && !this.owns(gw)) continue;
        const w = this.watermarks.get(gw);
        if (!w) continue;
        this.stats.acks++;
        this.client.publish(this.topics.ack(gw), encodeAck({ ...w, t: Date.now() }), { qos: 1, retain: true });
      }
      this.dirty.clear();
    });
  }

  /**
   * Nothing of an envelope with a bad header is settled, so its gateway would wait for an acknowledgement
   * forever without knowing why: it is told, on its ack topic (not retained: the watermark stays).
   */
  private refuse(gw: string, reason: string, payload: Buffer): void {
    const body = encodeRefusal({ reason: reason.slice(0, 300), ...claimedRange(payload), t: Date.now() });
    this.client.publish(this.topics.ack(gw), body, { qos: 1 });
  }

  private deadLetter(gw: string, reason: string, payload: Buffer): void {
    log('warn', 'rejected input sent to the dead-letter queue', { gw, reason: reason.slice(0, 300) });
    const body = encodeDeadLetter(Date.now(), gw, reason, payload);
    this.client.publish(this.topics.dlq(gw), body, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.o.sink.drain();
    this.o.sink.close();
    await new Promise<void>((r) => setImmediate(r));
    // The acks of everything written are out: the shards can go to the other workers now.
    await this.leases?.stop();
    if (this.client.connected)
      await this.client.publishAsync(this.topics.ingestState(this.clientId), OFFLINE_STATUS, { qos: 1, retain: true });
    await this.client.endAsync();
  }
}

/**
 * The filters of a SUBSCRIBE the broker refused. MQTT 3.1.1 refuses each filter with 0x80, which MQTT.js
 * reports as an error without saying which: then every filter asked for is named.
 */
function refusedFilters(
  asked: Record<string, unknown>,
  err: Error | null | undefined,
  granted: { topic: string; qos: number }[] | undefined,
): string[] {
  if (err) return Object.keys(asked);
  return granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
}
