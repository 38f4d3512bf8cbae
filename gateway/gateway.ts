// The gateway: polls devices on their links, stores every sample in the outbox, and hands it to the uplink.
import type { SampleRecord } from '../protocol/envelope.ts';
import { log } from '../protocol/log.ts';
import { fnv1a32 } from '../protocol/topics.ts';
import { isHj212, isModbusLink, isPolled, type GatewayConfig, type PolledDeviceConfig } from './config.ts';
import { Hj212Listener } from './drivers/hj212-listener.ts';
import { DeviceReader } from './device-reader.ts';
import { HttpInput } from './drivers/http-input.ts';
import { LinkError, ModbusLink } from './drivers/modbus.ts';
import { Outbox } from './outbox.ts';
import { Uplink } from './uplink.ts';
import { CaptureCounter } from './capture.ts';
import type { DeviceHealth, PushStats } from '../protocol/messages.ts';

/** A device is down after this many failed polls in a row. */
const DOWN_AFTER = 3;

interface DeviceState {
  cfg: PolledDeviceConfig;
  reader: DeviceReader;
  link: ModbusLink;
  timer?: NodeJS.Timeout;
  busy: boolean;
  failures: number;
  lastError?: string;
  lastFlags: boolean;
  samples: number;
  errors: number;
  skipped: number;
  /** While down, the device is polled again only from this time on (its back-off). */
  retryAt: number;
  /** Polls left out while backing off. */
  backedOff: number;
  /** The unit stopped answering: it is asked only late in a cycle, where a timeout holds up no one. */
  probing: boolean;
  probeTimer?: NodeJS.Timeout;
}

/** Longest wait between polls of a device that does not answer. */
const BACKOFF_MAX_MS = 60_000;

/**
 * When a device that has failed `failures` times in a row is polled next. Past DOWN_AFTER the wait
 * doubles from one poll period to a minute: a dead unit on a shared bus then costs its timeout once per
 * back-off instead of every cycle, and its neighbours keep their cadence.
 */
export function retryAfter(failures: number, pollMs: number, now: number): number {
  if (failures < DOWN_AFTER) return now;
  return now + Math.min(BACKOFF_MAX_MS, pollMs * 2 ** (failures - DOWN_AFTER + 1));
}

export class Gateway {
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  private links = new Map<string, ModbusLink>();
  /** Links that devices push records to: http, and hj212 listeners. */
  readonly inputs: (HttpInput | Hj212Listener)[] = [];
  private devices: DeviceState[] = [];
  private pending: SampleRecord[] = [];
  private flushQueued = false;
  private stopped = false;
  stats = { sampled: 0, pollErrors: 0, skipped: 0, backedOff: 0 };
  /** Each sampling device's minutes with a valid sample, this hour and the last (status/{gw} `capture`). */
  readonly capture: CaptureCounter;

  constructor(readonly cfg: GatewayConfig) {
    this.outbox = new Outbox(cfg.outbox.path, cfg.outbox.maxRecords, cfg.outbox.sync);
    this.uplink = new Uplink(cfg, this.outbox);
    // Remote-sensing sets report vehicle passes, not a cadence: they have no capture rate.
    this.capture = new CaptureCounter(
      cfg.devices
        .filter((d) => d.kind !== 'rsd')
        .map((d) => ({ id: d.id, ...(isPolled(d) ? { cadenceMs: d.pollMs } : {}) })),
    );
    this.uplink.statusExtra = () => ({
      devices: this.health(),
      sampling: this.stats,
      ...(this.inputs.length ? { pushed: this.pushed(), listening: this.listening() } : {}),
      capture: this.capture.status(),
    });
    for (const l of cfg.links) {
      if (isModbusLink(l)) this.links.set(l.name, new ModbusLink(l));
      else if (l.type === 'hj212')
        this.inputs.push(
          new Hj212Listener(
            l,
            cfg.devices.filter(isHj212).filter((d) => d.link === l.name),
            (records, marks) => this.storeNow(records, marks),
            Date.now,
            this.outbox.marksWith('hj212/'),
          ),
        );
      else
        this.inputs.push(
          new HttpInput(
            l,
            cfg.devices.filter((d) => !isPolled(d) && !isHj212(d) && d.link === l.name),
            (records) => this.storeNow(records),
          ),
        );
    }
    for (const d of cfg.devices) {
      if (!isPolled(d)) continue;
      this.devices.push({
        cfg: d,
        reader: new DeviceReader(d),
        link: this.links.get(d.link)!,
        busy: false,
        failures: 0,
        lastFlags: false,
        samples: 0,
        errors: 0,
        skipped: 0,
        retryAt: 0,
        backedOff: 0,
        probing: false,
      });
    }
  }

  /** Starts polling and publishing; resolves once every http and hj212 link listens. */
  async start(): Promise<this> {
    log('info', 'gateway starting', {
      gw: this.cfg.id,
      devices: this.cfg.devices.length,
      epoch: this.outbox.epoch,
      next_seq: this.outbox.next,
      outbox: this.outbox.depth,
    });
    this.uplink.start();
    for (const d of this.devices) this.schedule(d);
    try {
      this.ports = await Promise.all(this.inputs.map((i) => i.start()));
      this.uplink.publishStatus(); // devices may push from now on: say where
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this;
  }

  /** The Modbus links, whose `stats` the metrics read. */
  get modbusLinks(): ModbusLink[] {
    return [...this.links.values()];
  }

  /** The ports the http and hj212 links listen on, in config order. */
  ports: number[] = [];

  /**
   * Pushed records are stored before the pusher hears 200: one transaction (with an input's marks), then
   * the uplink is nudged. Marks alone are still saved while the links close.
   */
  private storeNow(records: SampleRecord[], marks?: Record<string, number | null>): void {
    if (this.stopped && records.length) throw new Error('gateway is stopping');
    this.outbox.append(records, marks);
    for (const r of records) this.capture.record(r);
    if (records.length) this.uplink.pump();
  }

  /** Polls on the clock grid (every poll_ms, at a per-device phase), so samples line up across devices. */
  private schedule(d: DeviceState): void {
    if (this.stopped) return;
    const period = d.cfg.pollMs;
    const phase = fnv1a32(d.cfg.id) % Math.min(period, 250);
    const now = Date.now();
    const next = Math.floor((now - phase) / period) * period + period + phase;
    d.timer = setTimeout(() => {
      this.poll(d);
      this.schedule(d);
    }, next - now);
  }

  private poll(d: DeviceState): void {
    if (Date.now() < d.retryAt) {
      d.backedOff++;
      this.stats.backedOff++;
      return;
    }
    // A probe of a unit that has not been answering can cost the whole timeout: it goes late in the
    // cycle, once the live units on the bus have been read, and ends before the next cycle begins.
    const probeAt = d.probing && !d.busy ? this.probeSlot(d) : 0;
    if (probeAt > Date.now()) {
      d.retryAt = Infinity; // not again until this probe has answered or failed
      d.probeTimer = setTimeout(() => {
        d.probeTimer = undefined;
        if (d.retryAt !== Infinity) return; // a failure since set its own back-off
        d.retryAt = 0;
        this.poll(d);
      }, probeAt - Date.now());
      return;
    }
    if (d.busy) {
      d.skipped++;
      this.stats.skipped++;
      return;
    } // the previous read is still on the wire
    d.busy = true;
    const ts = Date.now();
    d.reader
      .sample(d.link, ts)
      .then(
        (rec) => {
          d.failures = 0;
          d.retryAt = 0;
          d.probing = false;
          d.samples++;
          d.lastFlags = rec.f !== undefined;
          this.stats.sampled++;
          this.enqueue(rec);
        },
        (e: Error) => {
          d.errors++;
          this.stats.pollErrors++;
          if (++d.failures === DOWN_AFTER || d.lastError !== e.message)
            log('warn', 'poll failed', { dev: d.cfg.id, error: e.message, failures: d.failures });
          // A link that cannot be opened has its own back-off; a unit that does not answer gets one here,
          // and is asked again only in the probe slot of a cycle (from its first failure on).
          d.probing = !(e instanceof LinkError);
          if (d.probing) d.retryAt = retryAfter(d.failures, d.cfg.pollMs, Date.now());
          d.lastError = e.message;
        },
      )
      .finally(() => {
        d.busy = false;
      });
  }

  /** When in this poll cycle a probe fits between the cycle's polls (phases under 250 ms) and the next. */
  private probeSlot(d: DeviceState): number {
    const period = d.cfg.pollMs;
    const start = Math.floor(Date.now() / period) * period;
    const at = period - d.link.cfg.timeoutMs - 50;
    return at >= 250 ? start + at : 0;
  }

  /** Samples of one instant are stored in one transaction (one fsync), then the uplink is nudged. */
  private enqueue(rec: SampleRecord): void {
    this.pending.push(rec);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const batch = this.pending;
      this.pending = [];
      if (this.stopped || batch.length === 0) return;
      this.outbox.append(batch);
      for (const r of batch) this.capture.record(r);
      this.uplink.pump();
    });
  }

  /** Per pushing device: records accepted and rejected, the newest sample time, the last rejection. */
  pushed(): Record<string, PushStats> {
    return Object.fromEntries(this.inputs.flatMap((i) => [...i.perDevice]));
  }

  /** The port each http and hj212 link listens on, by link name (none until it listens). */
  listening(): Record<string, number> {
    return Object.fromEntries(this.ports.map((port, i) => [this.inputs[i]!.cfg.name, port]));
  }

  /** Reads every TLS file again (SIGHUP): the uplink's for its next connection, the https links' at once. */
  reloadTls(): void {
    this.uplink.reloadTls();
    for (const i of this.inputs) if (i instanceof HttpInput) i.reloadTls();
  }

  health(): DeviceHealth {
    const h = { up: [] as string[], degraded: [] as string[], down: [] as { dev: string; error: string }[] };
    for (const d of this.devices) {
      if (d.failures >= DOWN_AFTER || (d.samples === 0 && d.failures > 0))
        h.down.push({ dev: d.cfg.id, error: d.lastError ?? '' });
      else if (d.failures > 0 || d.lastFlags) h.degraded.push(d.cfg.id);
      else h.up.push(d.cfg.id);
    }
    return h;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.devices) {
      clearTimeout(d.timer);
      clearTimeout(d.probeTimer);
    }
    if (this.pending.length) this.outbox.append(this.pending.splice(0));
    for (const l of this.links.values()) l.close();
    await Promise.all(this.inputs.map((i) => i.close()));
    await this.uplink.stop();
    this.outbox.close();
  }
}
