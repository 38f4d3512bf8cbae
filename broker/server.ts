// The Aedes broker: TCP listener, authentication against the users file, the ACL, a health endpoint, and
// optionally Redis for its state (sessions, queued QoS 1 messages, retained messages) and for fan-out
// between brokers, so a broker restart loses nothing and several brokers serve one network.
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { canPublish, canSubscribe, type Principal } from './acl.ts';
import { verifyPassword, type User } from './users.ts';
import { listen } from '../protocol/listen.ts';
import { log } from '../protocol/log.ts';

export interface BrokerOptions {
  port: number;
  host?: string;
  /** HTTP health endpoint port; undefined = none, 0 = a free port. */
  healthPort?: number;
  /** MQTT over WebSocket (path /mqtt), for browsers such as the operator console; undefined = none, 0 = a free port. */
  wsPort?: number;
  users: User[];
  /** Let clients without a username in, with the operator role (read-only). Off unless asked for. */
  allowAnonymous?: boolean;
  prefix?: string;
  shards?: number;
  /** redis://host:port[/db]: keep sessions, queues and retained messages in Redis and share them with other brokers. */
  redis?: string;
}

/**
 * Messages queued for one offline client that are replayed when it reconnects (the persistence's
 * default is 1,000): an ingest worker away for a while must get its whole backlog back.
 */
const MAX_SESSION_DELIVERY = 1_000_000;

export function redisOptions(url: string): {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--redis: ${JSON.stringify(url)} is not a URL such as redis://127.0.0.1:6379`);
  }
  if (u.protocol !== 'redis:') throw new Error(`--redis: expected a redis:// URL, got ${url}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--redis: database ${u.pathname.slice(1)} is not a number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

const BAD_LOGIN = 4;
const NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

export class Broker {
  private aedes!: Aedes;
  private tcp!: net.Server;
  private health?: http.Server;
  /** The persistence's Redis connection, ours to close: Aedes closes only its emitter on close. */
  private redisConn?: { disconnect(): void };
  private ws?: http.Server;
  private wss?: WebSocketServer;
  private principals = new WeakMap<Client, Principal>();
  private users: Map<string, User>;
  /**
   * SHA-256 of each user's last verified password: scrypt is slow on purpose, and a reconnect storm of
   * a thousand gateways should not pay it a thousand times. No plain-text password is kept.
   */
  private verified = new Map<string, string>();
  port = 0;
  healthPort = 0;
  wsPort = 0;
  readonly startedAt = Date.now();
  stats = { connects: 0, refused: 0, deniedPublish: 0, deniedSubscribe: 0 };

  constructor(private o: BrokerOptions) {
    this.users = new Map(o.users.map((u) => [u.username, u]));
  }

  async start(): Promise<this> {
    const prefix = this.o.prefix ?? DEFAULT_PREFIX;
    const shards = this.o.shards ?? DEFAULT_SHARDS;
    const shared = this.o.redis ? await this.redisBackends(this.o.redis) : undefined;
    this.aedes = await Aedes.createBroker({
      ...(shared ?? {}),
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          () => {
            this.stats.connects++;
            done(null, true);
          },
          (e: AuthenticateError) => {
            this.stats.refused++;
            log('warn', 'connection refused', { client: client.id, username, reason: e.message });
            done(e, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        const who = client && this.principals.get(client);
        if (!client || (who && canPublish(who, prefix, packet.topic, shards))) return done(null);
        this.stats.deniedPublish++;
        log('warn', 'publish denied', { client: client.id, user: who?.username, topic: packet.topic });
        done(new Error(`not authorised to publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const who = this.principals.get(client);
        if (who && canSubscribe(who, prefix, sub.topic)) return done(null, sub);
        this.stats.deniedSubscribe++;
        log('warn', 'subscribe denied', { client: client.id, user: who?.username, topic: sub.topic });
        done(null, null); // SUBACK 0x80: refused, the connection stays up
      },
    });
    this.tcp = net.createServer(this.aedes.handle);
    this.port = await listen(this.tcp, this.o.port, this.o.host);
    if (this.o.healthPort !== undefined) {
      this.health = http.createServer((req, res) => this.onHealth(req, res));
      this.healthPort = await listen(this.health, this.o.healthPort, this.o.host);
    }
    if (this.o.wsPort !== undefined) {
      // The same broker, users and ACL over WebSocket: each socket becomes a stream Aedes reads MQTT from.
      this.ws = http.createServer((_req, res) =>
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket at /mqtt\n'),
      );
      this.wss = new WebSocketServer({ server: this.ws, path: '/mqtt' });
      this.wss.on('connection', (socket, req) => this.aedes.handle(createWebSocketStream(socket), req));
      this.wsPort = await listen(this.ws, this.o.wsPort, this.o.host);
    }
    return this;
  }

  /** Redis-backed persistence and emitter; fails fast, naming the URL, when Redis does not answer. */
  private async redisBackends(url: string): Promise<{ persistence: unknown; mq: unknown }> {
    const opts = redisOptions(url);
    const { Redis } = await import('ioredis');
    const probe = new Redis({ ...opts, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // reported below, with the URL
    try {
      await probe.connect();
      await probe.ping();
    } catch (e) {
      throw new Error(`cannot reach Redis at ${url} (${(e as Error).message}): start redis-server or fix --redis`);
    } finally {
      probe.disconnect();
    }
    const { default: persistence } = await import('aedes-persistence-redis');
    const { default: mq } = await import('mqemitter-redis');
    log('info', 'broker state in Redis', { redis: `${opts.host}:${opts.port}/${opts.db}` });
    const conn = new Redis(opts);
    this.redisConn = conn;
    return {
      persistence: oneStorePerSubscribe(persistence({ conn, maxSessionDelivery: MAX_SESSION_DELIVERY })),
      mq: mq(opts),
    };
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<void> {
    if (username === undefined) {
      if (!this.o.allowAnonymous)
        throw authError(
          'anonymous clients are not allowed (start the broker with --allow-anonymous to permit read-only access)',
          NOT_AUTHORIZED,
        );
      this.principals.set(client, { username: '', role: 'operator' });
      return;
    }
    const user = this.users.get(username);
    const pw = password?.toString('utf8') ?? '';
    if (!user) throw authError(`unknown user ${username}`, BAD_LOGIN);
    const digest = createHash('sha256').update(user.password).update('\0').update(pw).digest('hex');
    if (this.verified.get(username) !== digest) {
      if (!(await verifyPassword(pw, user.password))) throw authError(`wrong password for ${username}`, BAD_LOGIN);
      this.verified.set(username, digest);
    }
    // A gateway's client id is its name, so no client can take over (and end) another gateway's session.
    if (user.role === 'gateway' && client.id !== username)
      throw authError(`gateway ${username} must connect with client id ${username}, not ${client.id}`, NOT_AUTHORIZED);
    this.principals.set(client, { username, role: user.role });
  }

  private onHealth(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url !== '/health') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'ok',
        clients: this.aedes.connectedClients,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        ...this.stats,
      }),
    );
  }

  get clients(): number {
    return this.aedes.connectedClients;
  }

  async stop(): Promise<void> {
    this.health?.close();
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    this.ws?.close();
    this.tcp.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    this.redisConn?.disconnect();
  }
}

type AddSubscriptions = (client: unknown, subs: object, cb?: unknown) => unknown;

/**
 * Aedes 1.2 stores a persistent client's subscriptions once per topic of a SUBSCRIBE, each time with all
 * of them; the Redis persistence then waits for its own broadcast of each store under one key (client
 * and first topic), so concurrent stores overwrite each other's waiter and the SUBACK never comes for
 * two topics or more. Calls for the same SUBSCRIBE (the same array) share one store here.
 */
function oneStorePerSubscribe<P extends { addSubscriptions: AddSubscriptions }>(p: P): P {
  const store = p.addSubscriptions.bind(p);
  const pending = new WeakMap<object, unknown>();
  p.addSubscriptions = (client, subs, cb) => {
    if (cb) return store(client, subs, cb);
    let run = pending.get(subs) as Promise<unknown> | undefined;
    if (!run) {
      run = store(client, subs) as Promise<unknown>;
      pending.set(subs, run);
      run.then(
        () => pending.delete(subs),
        () => pending.delete(subs),
      );
    }
    return run;
  };
  return p;
}
