// HTTP login and ACL checks for a stock broker (docs/protocol.md §2.7): EMQX 5's HTTP authenticator and
// authorizer, and VerneMQ's auth_on_register / auth_on_publish / auth_on_subscribe webhooks, answered by
// the same users file and rules as our broker (auth-checker.ts).
import http from 'node:http';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { listen } from '../protocol/listen.ts';
import { log } from '../protocol/log.ts';
import { AuthChecker, type Verdict } from './auth-checker.ts';
import { loadUsers, type User } from './users.ts';

export interface AuthHttpOptions {
  users: User[];
  /** Read again when it changes (polled each second) and on reloadUsers(). */
  usersFile?: string;
  prefix?: string;
  shards?: number;
  /** Largest request body. */
  maxBodyBytes?: number;
  /** Logins being checked at once; past that a login is answered 503 (the broker's own retry or deny). */
  maxPendingLogins?: number;
  /** Longest a request may take to arrive whole. */
  requestTimeoutMs?: number;
  /**
   * A refused login is answered after 0, base, 2·base … up to max, per user and address; keep max below
   * the broker's HTTP timeout (EMQX: 5 s).
   */
  loginBackoffBaseMs?: number;
  loginBackoffMaxMs?: number;
}

type Json = Record<string, unknown>;

/** A request the contract cannot read: answered 400 (or `status`) with the message. */
class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ENDPOINTS = [
  '/emqx/authn',
  '/emqx/authz',
  '/vernemq/auth_on_register',
  '/vernemq/auth_on_publish',
  '/vernemq/auth_on_subscribe',
];

export class AuthHttp {
  private server = http.createServer((req, res) => void this.onRequest(req, res));
  private checker: AuthChecker;
  private pending = 0;
  private pruner?: NodeJS.Timeout;
  private unwatch?: () => void;
  port = 0;
  readonly stats = {
    requests: 0,
    allowed: 0,
    denied: 0,
    badRequests: 0,
    /** Logins answered 503 because maxPendingLogins were being checked. */
    busy: 0,
    /** Refused logins answered late (repeated failures of a user or an address). */
    loginDelays: 0,
    usersReloaded: 0,
    usersReloadFailed: 0,
  };

  constructor(private o: AuthHttpOptions) {
    this.checker = new AuthChecker(o.users, {
      prefix: o.prefix ?? 'env/v1',
      shards: o.shards ?? 16,
      // No hold by default: EMQX pipelines up to 100 requests on each of its connections, and a held refusal
      // would hold every login queued behind it on that connection past EMQX's 5 s timeout.
      backoff: { baseMs: o.loginBackoffBaseMs ?? 250, maxMs: o.loginBackoffMaxMs ?? 0, windowMs: 15 * 60_000 },
    });
    this.server.requestTimeout = o.requestTimeoutMs ?? 10_000;
    this.server.headersTimeout = Math.min(this.server.requestTimeout, 10_000);
  }

  async start(port: number, host = '127.0.0.1'): Promise<this> {
    this.port = await listen(this.server, port, host);
    this.pruner = setInterval(() => this.checker.prune(), 60_000).unref();
    if (this.o.usersFile) this.watchUsers(this.o.usersFile);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.pruner);
    this.unwatch?.();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Reads the users file again; one that does not load keeps the users loaded before. */
  reloadUsers(): boolean {
    const file = this.o.usersFile;
    if (!file) return false;
    try {
      this.checker.setUsers(loadUsers(file));
    } catch (e) {
      this.stats.usersReloadFailed++;
      log('error', 'users file not reloaded; the users loaded before stay', { file, error: (e as Error).message });
      return false;
    }
    this.stats.usersReloaded++;
    log('info', 'users reloaded', { file });
    return true;
  }

  private watchUsers(file: string): void {
    const onChange = (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) this.reloadUsers();
    };
    watchFile(file, { interval: 1000, persistent: false }, onChange);
    this.unwatch = () => unwatchFile(file, onChange);
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.stats.requests++;
    try {
      if (req.method === 'GET' && req.url === '/health')
        return reply(res, 200, { status: 'ok', pending: this.pending, ...this.stats });
      const path = (req.url ?? '').split('?')[0]!;
      if (!ENDPOINTS.includes(path))
        throw new BadRequest(`no endpoint ${path}; POST to one of ${ENDPOINTS.join(', ')}`, 404);
      if (req.method !== 'POST') throw new BadRequest(`${req.method} ${path}: expected POST`, 405);
      const body = await readJson(req, this.o.maxBodyBytes ?? 16 * 1024);
      const [status, answer] = await this.answer(path, body);
      reply(res, status, answer);
    } catch (e) {
      if (!(e instanceof BadRequest)) {
        log('error', 'auth-http request failed', { url: req.url, error: (e as Error).message });
        return reply(res, 500, { error: (e as Error).message });
      }
      this.stats.badRequests++;
      reply(res, e.status, { error: e.message });
      // A body left unread must not be taken for the next request on this connection.
      if (e.status === 413) res.once('finish', () => req.destroy());
    }
  }

  private async answer(path: string, b: Json): Promise<[number, Json]> {
    switch (path) {
      case '/emqx/authn': {
        const v = await this.login(str(b, 'username'), str(b, 'password'), str(b, 'clientid'), str(b, 'peerhost'));
        return [200, { result: v.allow ? 'allow' : 'deny', is_superuser: false }];
      }
      case '/emqx/authz': {
        const v = this.topic(str(b, 'username'), str(b, 'clientid'), required(b, 'topic'), action(b), flag(b));
        return [200, { result: v.allow ? 'allow' : 'deny' }];
      }
      case '/vernemq/auth_on_register': {
        const v = await this.login(str(b, 'username'), str(b, 'password'), str(b, 'client_id'), str(b, 'peer_addr'));
        return [200, vmq(v)];
      }
      case '/vernemq/auth_on_publish':
        return [
          200,
          vmq(this.topic(str(b, 'username'), str(b, 'client_id'), required(b, 'topic'), 'publish', flag(b))),
        ];
      default:
        return [200, vmq(this.subscribeAll(b))];
    }
  }

  private async login(
    username: string | undefined,
    password: string | undefined,
    clientId: string | undefined,
    peer: string | undefined,
  ): Promise<Verdict> {
    // Bounds the scrypt work queued on libuv's threads; a refusal's hold below is not counted, or wrong
    // passwords could crowd out right ones.
    if (this.pending >= (this.o.maxPendingLogins ?? 256)) {
      this.stats.busy++;
      throw new BadRequest(`busy: ${this.pending} logins are being checked`, 503);
    }
    this.pending++;
    let checked;
    try {
      checked = await this.checker.login({ username, password, clientId, peer });
    } finally {
      this.pending--;
    }
    this.count(checked.verdict, 'login', { username, client: clientId, peer });
    if (checked.delayMs > 0) {
      this.stats.loginDelays++;
      await new Promise((r) => setTimeout(r, checked.delayMs));
    }
    return checked.verdict;
  }

  private topic(
    username: string | undefined,
    clientId: string | undefined,
    topic: string,
    act: 'publish' | 'subscribe',
    retain: boolean,
  ): Verdict {
    const v = this.checker.topic({ username, clientId, topic, action: act, retain });
    this.count(v, act, { username, client: clientId, topic });
    return v;
  }

  /** VerneMQ sends every filter of one SUBSCRIBE: one refused filter refuses the SUBSCRIBE. */
  private subscribeAll(b: Json): Verdict {
    const topics = b.topics;
    if (!Array.isArray(topics) || topics.length === 0) throw new BadRequest('topics: expected a list of {topic, qos}');
    let last: Verdict | undefined;
    for (const [i, t] of topics.entries()) {
      if (typeof t !== 'object' || t === null) throw new BadRequest(`topics[${i}]: expected {topic, qos}`);
      const filter = required(t as Json, 'topic', `topics[${i}].topic`);
      last = this.topic(str(b, 'username'), str(b, 'client_id'), filter, 'subscribe', false);
      if (!last.allow) return last;
    }
    return last!;
  }

  private count(v: Verdict, what: string, about: Record<string, string | undefined>): void {
    if (v.allow) {
      this.stats.allowed++;
      return;
    }
    this.stats.denied++;
    log('warn', `${what} denied`, { ...about, reason: v.reason });
  }
}

function vmq(v: Verdict): Json {
  return v.allow ? { result: 'ok' } : { result: { error: 'not_allowed' } };
}

function reply(res: http.ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as a JSON object, refused past `limit` bytes. */
async function readJson(req: http.IncomingMessage, limit: number): Promise<Json> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BadRequest(`body of ${declared} bytes is over the limit of ${limit}`, 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BadRequest(`body is over the limit of ${limit} bytes`, 413);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new BadRequest(`body is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest('body: expected a JSON object');
  return body as Json;
}

/**
 * An optional text field; JSON null (VerneMQ's anonymous user name) counts as absent. A wrong password
 * is named by its type only: the answer may end up in the broker's log.
 */
function str(b: Json, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    const got = key === 'password' ? `a ${Array.isArray(v) ? 'list' : typeof v}` : JSON.stringify(v);
    throw new BadRequest(`${key}: expected a string, got ${got}`);
  }
  return v;
}

function required(b: Json, key: string, name = key): string {
  const v = b[key];
  if (typeof v !== 'string' || v === '') throw new BadRequest(`${name}: required, a non-empty string`);
  return v;
}

function action(b: Json): 'publish' | 'subscribe' {
  const v = b.action;
  if (v !== 'publish' && v !== 'subscribe')
    throw new BadRequest(`action: expected "publish" or "subscribe", got ${JSON.stringify(v)}`);
  return v;
}

/** `retain` as EMQX templates send it ("true"/"false"), or as a JSON boolean; absent is false. */
function flag(b: Json): boolean {
  const v = b.retain;
  if (v === undefined || v === null || v === false || v === 'false' || v === 0 || v === '0') return false;
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  throw new BadRequest(`retain: expected true or false, got ${JSON.stringify(v)}`);
}
