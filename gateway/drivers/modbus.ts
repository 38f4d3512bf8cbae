// A Modbus link: Modbus TCP, RTU frames over TCP (a serial device server in transparent mode), or RTU on
// a serial line. One connection, one request in flight (modbus-serial's setID is client-global, and an
// RS-485 bus answers one unit at a time), timeouts, reconnect with backoff.
import M from 'modbus-serial';
import { log } from '../../protocol/log.ts';
import type { ModbusLinkConfig } from '../config.ts';

// Under NodeNext the default import is the CommonJS module object; its `default` is the client class.
const ModbusRTU = (M as unknown as { default: new () => Client }).default;
type Client = M.default;

export class DeviceError extends Error {}
export class LinkError extends Error {}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A link whose every unit stays silent this many times in a row is presumed dead and re-opened. */
const DEAD_AFTER_TIMEOUTS = 3;

export class ModbusLink {
  private client: Client | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private backoffMs = 0;
  private retryAt = 0;
  private timeoutsInARow = 0;
  private closed = false;
  stats = { requests: 0, errors: 0, timeouts: 0, reconnects: 0 };

  constructor(readonly cfg: ModbusLinkConfig) {}

  /** Where the link goes, for messages: host:port, or the serial device. */
  get where(): string {
    return this.cfg.type === 'modbus-rtu' ? this.cfg.device : `${this.cfg.host}:${this.cfg.port}`;
  }

  private async connect(client: Client): Promise<void> {
    const c = this.cfg;
    if (c.type === 'modbus-rtu')
      await client.connectRTUBuffered(c.device, {
        baudRate: c.baudRate,
        parity: c.parity,
        dataBits: c.dataBits,
        stopBits: c.stopBits,
      });
    // modbus-serial's "Telnet" port is raw RTU frames on a TCP socket (its TcpRTUBuffered port speaks MBAP).
    else if (c.type === 'modbus-rtu-tcp') await client.connectTelnet(c.host, { port: c.port, timeout: c.timeoutMs });
    else await client.connectTCP(c.host, { port: c.port, timeout: c.timeoutMs });
  }

  get connected(): boolean {
    return this.client?.isOpen ?? false;
  }

  /** Reads `count` registers; requests on one link are strictly serialised. */
  read(unit: number, fc: 3 | 4, addr: number, count: number): Promise<number[]> {
    const run = this.tail.then(() => this.readNow(unit, fc, addr, count));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async readNow(unit: number, fc: 3 | 4, addr: number, count: number): Promise<number[]> {
    if (this.closed) throw new LinkError('link closed');
    const client = await this.open();
    this.stats.requests++;
    client.setID(unit);
    try {
      const res =
        fc === 3 ? await client.readHoldingRegisters(addr, count) : await client.readInputRegisters(addr, count);
      this.timeoutsInARow = 0;
      return res.data;
    } catch (e) {
      this.stats.errors++;
      const err = e as Error & { modbusCode?: number; errno?: string };
      if (err.modbusCode !== undefined) {
        this.timeoutsInARow = 0;
        throw new DeviceError(
          `unit ${unit} answered exception ${err.modbusCode} (${err.message}) reading ${count} registers at ${addr} with FC ${fc}`,
        );
      }
      if (err.message === 'Timed out' || err.errno === 'ETIMEDOUT') {
        this.stats.timeouts++;
        if (++this.timeoutsInARow >= DEAD_AFTER_TIMEOUTS) this.drop(`${this.timeoutsInARow} timeouts in a row`);
        throw new DeviceError(`unit ${unit} did not answer within ${this.cfg.timeoutMs} ms`);
      }
      this.drop(err.message);
      throw new LinkError(`${this.where}: ${err.message}`);
    }
  }

  private async open(): Promise<Client> {
    if (this.client?.isOpen) return this.client;
    const wait = this.retryAt - Date.now();
    if (wait > 0) throw new LinkError(`${this.where} is down; next attempt in ${wait} ms`);
    const client = new ModbusRTU();
    client.setTimeout(this.cfg.timeoutMs);
    try {
      await this.connect(client);
    } catch (e) {
      this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoffMs * 2));
      this.retryAt = Date.now() + this.backoffMs;
      client.close(() => undefined);
      throw new LinkError(`cannot open ${this.where} (${(e as Error).message}); retrying in ${this.backoffMs} ms`);
    }
    if (this.stats.reconnects++ > 0) log('info', 'modbus link reconnected', { link: this.cfg.name });
    this.backoffMs = 0;
    this.timeoutsInARow = 0;
    this.client = client;
    return client;
  }

  private drop(why: string): void {
    if (!this.closed) log('warn', 'modbus link dropped', { link: this.cfg.name, why });
    this.client?.close(() => undefined);
    this.client = null;
  }

  close(): void {
    this.closed = true;
    this.drop('closing');
  }
}
