// An http link: instruments, or their vendor platform, POST records to the gateway (remote-sensing sets
// report one record per vehicle pass). The answer comes after the records are in the outbox, so a
// pusher that retries until it sees 200 loses nothing. Each record is checked like an envelope record;
// a bad one is named in the answer and never costs the good ones beside it.
//
//   POST /records   {"records": [{"dev": "rsd-0001", "ts": 1795897926000, "m": {...}, "a": {...}}]}
//   → 200 {"accepted": 1, "rejected": []}        (400 when nothing was accepted)
//
// Every request carries `Authorization: Bearer <token>` (401 otherwise, counted) unless the config says
// `auth: none`; with `tls` the link is HTTPS, its certificate re-read by reloadTls().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import { decodeRecordParts, DEFAULT_LIMITS, EnvelopeError, type SampleRecord } from '../../protocol/envelope.ts';
import { listen } from '../../protocol/listen.ts';
import { log } from '../../protocol/log.ts';
import { readTls, scheme } from '../../protocol/tls.ts';
import type { HttpLinkConfig, PushedDeviceConfig } from '../config.ts';
import type { PushStats } from '../../protocol/messages.ts';

const MAX_BODY = 1 << 20;

export class HttpInput {
  private server?: Server | HttpsServer;
  private devices: Map<string, PushedDeviceConfig>;
  readonly perDevice = new Map<string, PushStats>();
  /** `unauthorized`: requests refused for a missing or wrong token (not counted in `requests`). */
  stats = { requests: 0, accepted: 0, rejected: 0, unauthorized: 0 };
  private unauthorizedLoggedAt = 0;

  /** `store` must make the records durable before it returns (the outbox append). */
  constructor(
    readonly cfg: HttpLinkConfig,
    devices: PushedDeviceConfig[],
    private store: (records: SampleRecord[]) => void,
  ) {
    this.devices = new Map(devices.map((d) => [d.id, d]));
    for (const d of devices) this.perDevice.set(d.id, { accepted: 0, rejected: 0 });
  }

  /** Listens; resolves with the port (the configured one, or the one the system chose for port 0). */
  async start(): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e: Error) => reply(res, 500, { error: e.message }));
    };
    const tls = this.cfg.tls;
    this.server = tls ? createHttpsServer(readTls(tls, `link ${this.cfg.name} tls`), handler) : createServer(handler);
    const port = await listen(
      this.server,
      this.cfg.port,
      this.cfg.host,
      `pick another listen port for link ${this.cfg.name}`,
    );
    log('info', 'http link listening', {
      link: this.cfg.name,
      url: `${scheme(!!tls, 'http')}://${this.cfg.host}:${port}/records`,
      devices: this.devices.size,
      auth: this.cfg.auth === 'none' ? 'none' : 'bearer token',
    });
    if (this.cfg.auth === 'none')
      log('warn', 'http link takes pushes from anyone who reaches it (auth: none): give it a token', {
        link: this.cfg.name,
        listen: `${this.cfg.host}:${port}`,
      });
    return port;
  }

  /** Reads the link's certificate and key again (SIGHUP); false when they do not load (the old ones stay). */
  reloadTls(): boolean {
    if (!this.cfg.tls || !this.server || !('setSecureContext' in this.server)) return false;
    try {
      this.server.setSecureContext(readTls(this.cfg.tls, `link ${this.cfg.name} tls`));
      return true;
    } catch (e) {
      log('error', 'http link certificate not reloaded; the one loaded before stays', { error: (e as Error).message });
      return false;
    }
  }

  /** Why the request may not push, or null: a bearer token unless the link takes anyone. */
  private refusal(req: IncomingMessage): string | null {
    if (this.cfg.auth === 'none') return null;
    const header = req.headers.authorization;
    if (!header) return 'missing "Authorization: Bearer <token>" header: this link requires its token';
    if (this.cfg.token === undefined || !sameSecret(header, `Bearer ${this.cfg.token}`))
      return 'wrong bearer token for this link';
    return null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== '/records') return reply(res, 404, { error: 'POST records to /records' });
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' });
    const refused = this.refusal(req);
    if (refused) return this.unauthorized(req, res, refused);
    this.stats.requests++;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY)
        return reply(res, 413, { error: `body over ${MAX_BODY} bytes; send fewer records per request` });
      chunks.push(c);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      return reply(res, 400, { error: `body is not JSON (${(e as Error).message})` });
    }
    const list = Array.isArray(doc) ? doc : (doc as { records?: unknown })?.records;
    if (!Array.isArray(list)) return reply(res, 400, { error: 'expected {"records": [...]} or an array of records' });
    if (list.length > DEFAULT_LIMITS.maxRecords)
      return reply(res, 413, { error: `${list.length} records, over the limit of ${DEFAULT_LIMITS.maxRecords}` });
    const accepted: SampleRecord[] = [];
    const rejected: { at: string; reason: string }[] = [];
    const latest = Date.now() + DEFAULT_LIMITS.maxFutureMs;
    list.forEach((r, i) => {
      const at = `records[${i}]`;
      const dev = this.devices.get((r as { dev?: unknown })?.dev as string);
      try {
        if (!dev)
          throw new EnvelopeError(
            `not a device of link ${this.cfg.name} (devices: ${[...this.devices.keys()].join(', ')})`,
            `${at}.dev`,
          );
        // The kind comes from the config; a record may repeat it, but not contradict it.
        const { record: rec, dropped } = decodeRecordParts({ kind: dev.kind, ...(r as object) }, at, latest);
        if (rec.kind !== dev.kind)
          throw new EnvelopeError(`device ${dev.id} is configured as ${dev.kind}`, `${at}.kind`);
        accepted.push(rec);
        // The record is kept without its refused readings; the pusher is told which (by `at`).
        for (const e of dropped) {
          rejected.push({ at: e.where, reason: e.reason });
          this.perDevice.get(dev.id)!.lastError = e.message;
        }
      } catch (e) {
        if (!(e instanceof EnvelopeError)) throw e;
        rejected.push({ at: e.where, reason: e.reason });
        if (dev) {
          const s = this.perDevice.get(dev.id)!;
          s.rejected++;
          s.lastError = e.message;
        }
      }
    });
    if (accepted.length) this.store(accepted);
    for (const r of accepted) {
      const s = this.perDevice.get(r.dev)!;
      s.accepted++;
      s.lastTs = Math.max(s.lastTs ?? 0, r.ts);
    }
    this.stats.accepted += accepted.length;
    this.stats.rejected += rejected.length;
    if (rejected.length)
      log('warn', 'pushed records rejected', {
        link: this.cfg.name,
        rejected: rejected.length,
        first: `${rejected[0]!.at}: ${rejected[0]!.reason}`,
      });
    reply(res, accepted.length || !list.length ? 200 : 400, { accepted: accepted.length, rejected });
  }

  /** 401, counted; one log line a minute at most, so a scanner cannot fill the log. */
  private unauthorized(req: IncomingMessage, res: ServerResponse, why: string): void {
    this.stats.unauthorized++;
    if (Date.now() - this.unauthorizedLoggedAt >= 60_000) {
      this.unauthorizedLoggedAt = Date.now();
      log('warn', 'http link refused a push without its token', {
        link: this.cfg.name,
        address: req.socket.remoteAddress,
        reason: why,
        refused_so_far: this.stats.unauthorized,
      });
    }
    res.setHeader('www-authenticate', 'Bearer');
    reply(res, 401, { error: why });
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a),
    y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
