// The Aedes broker: TCP listener, authentication against the users file (reloaded when it changes), client
// ids held to their users, the ACL, limits on what one client may cost (limits.ts), a health endpoint that
// counts every refusal, and optionally Redis for its state (sessions, queued QoS 1 messages, retained
// messages) and for fan-out between brokers, so a broker restart loses nothing and several brokers serve
// one network. With TLS it also serves mqtts and wss; with a CA, a client certificate is a login
// (broker/cert-login.ts).
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { createHash } from 'node:crypto';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { canPublish, canSubscribe, mayRetain, type Principal } from './acl.ts';
import { ANONYMOUS, sessionId } from './client-ids.ts';
import { AddressBuckets, Gate, LoginBackoff } from './guards.ts';
import { brokerLimits, type BrokerLimits } from './limits.ts';
import { PacketGate, type GateRefusal } from './packet-gate.ts';
import { loadUsers, verifyPassword, type User } from './users.ts';
import { listen } from '../protocol/listen.ts';
import { log } from '../protocol/log.ts';
import { peerIdentity, readTls, type PeerIdentity, type TlsFiles } from '../protocol/tls.ts';
import { certLogin } from './cert-login.ts';
import { indexRetained, type RetainedStore } from './retained-index.ts';

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
  /** The file `users` came from: reloaded by reloadUsers() and when it changes (polled; 0 = not watched). */
  usersFile?: string;
  usersPollMs?: number;
  /** Limits on what one client may cost (broker/limits.ts has the defaults). */
  limits?: Partial<BrokerLimits>;
  /** Certificate and key of the mqtts and wss listeners; with `ca`, client certificates it signed are logins. */
  tls?: TlsFiles;
  /** MQTT over TLS (mqtts); undefined = none, 0 = a free port. Needs `tls`. */
  tlsPort?: number;
  /** MQTT over WebSocket over TLS (wss, path /mqtt); undefined = none, 0 = a free port. Needs `tls`. */
  wssPort?: number;
  /** Refuse every login without a client certificate signed by `tls.ca`, passwords included. */
  requireClientCert?: boolean;
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

const IDENTIFIER_REJECTED = 2;
const BAD_LOGIN = 4;
const NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

/** A login given up because its client left while it waited for a password check: nobody to answer. */
const ABANDONED = 'connection closed before its password was checked';

export class Broker {
  private aedes!: Aedes;
  private tcp!: net.Server;
  private health?: http.Server;
  /** The persistence's Redis connection, ours to close: Aedes closes only its emitter on close. */
  private redisConn?: { disconnect(): void };
  private ws?: http.Server;
  private wss?: WebSocketServer;
  private tlsServer?: tls.Server;
  private wssHttp?: https.Server;
  private wssSockets?: WebSocketServer;
  /** The certificate each TLS connection presented, by the stream Aedes reads (its gate). */
  private certs = new WeakMap<Duplex, PeerIdentity>();
  private principals = new WeakMap<Client, Principal>();
  /** The filters each client holds, against limits.maxSubscriptions. */
  private subscriptions = new WeakMap<Client, Set<string>>();
  /** Logged-in clients until their connection closes, to drop those whose user a reload removed or changed. */
  private live = new Set<Client>();
  private users: Map<string, User>;
  /**
   * SHA-256 of each user's last verified password: scrypt is slow on purpose, and a reconnect storm of
   * a thousand gateways should not pay it a thousand times. No plain-text password is kept.
   */
  private verified = new Map<string, string>();
  /**
   * After a restart the cache above is empty and every gateway's first login costs a scrypt check. They
   * run one core's worth at a time (the event loop keeps the other), one waiting per connection at most,
   * newest first: a gateway gives up on a CONNACK after 10 s and tries again later, so in arrival order
   * a storm's queue would mostly reach logins already gone (bench/broker-scale.ts at 10,000 gateways:
   * 25,000 of 28,000 logins). A client that left while waiting is skipped without a check.
   */
  private scrypts = new Gate(Math.max(1, availableParallelism() - 1), true);
  readonly limits: BrokerLimits;
  private readonly prefix: string;
  private readonly shards: number;
  private buckets: AddressBuckets;
  private backoff: LoginBackoff;
  private pruner?: NodeJS.Timeout;
  private unwatchUsers?: () => void;
  private rateLoggedAt = 0;
  private tlsLoggedAt = 0;
  port = 0;
  healthPort = 0;
  wsPort = 0;
  tlsPort = 0;
  wssPort = 0;
  readonly startedAt = Date.now();
  /** Every refusal, by kind; served on /health. */
  stats = {
    connects: 0,
    refused: 0,
    deniedPublish: 0,
    deniedSubscribe: 0,
    deniedRetain: 0,
    oversizePackets: 0,
    malformedPackets: 0,
    refusedRate: 0,
    refusedClientId: 0,
    tooManySubscriptions: 0,
    longTopics: 0,
    loginDelays: 0,
    usersReloaded: 0,
    usersReloadFailed: 0,
    /** TLS handshakes that failed (a client not trusting our certificate, plain MQTT on the TLS port). */
    tlsHandshakeFailures: 0,
    /** Logins refused for a certificate: not verified, CN no user, or none where one is required. */
    refusedCert: 0,
    /** Logins whose client left while they waited for a password check (no check was spent on them). */
    abandonedLogins: 0,
    tlsReloaded: 0,
    tlsReloadFailed: 0,
  };

  constructor(private o: BrokerOptions) {
    if ((o.tlsPort !== undefined || o.wssPort !== undefined) && !o.tls)
      throw new Error('a TLS listener needs a certificate and key (--tls-cert, --tls-key)');
    if (o.requireClientCert && !o.tls?.ca)
      throw new Error('requiring client certificates needs the CA that signs them (--tls-ca)');
    this.users = new Map(o.users.map((u) => [u.username, u]));
    this.prefix = o.prefix ?? DEFAULT_PREFIX;
    this.shards = o.shards ?? DEFAULT_SHARDS;
    this.limits = brokerLimits(this.shards, o.limits);
    this.buckets = new AddressBuckets(this.limits.connectBurst, this.limits.connectPerSecond);
    this.backoff = new LoginBackoff({
      baseMs: this.limits.loginBackoffMs,
      maxMs: this.limits.loginBackoffMaxMs,
      windowMs: this.limits.loginBackoffWindowMs,
    });
  }

  async start(): Promise<this> {
    const shared = this.o.redis ? await this.redisBackends(this.o.redis) : undefined;
    this.aedes = await Aedes.createBroker({
      ...(shared ?? {}),
      connectTimeout: this.limits.connectTimeoutMs,
      authenticate: (client, username, password, done) => this.onAuthenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => done(client ? this.publishRefusal(client, packet) : null),
      // A refused filter gets SUBACK 0x80; the connection stays up.
      authorizeSubscribe: (client, sub, done) => done(null, this.subscribeAllowed(client, sub.topic) ? sub : null),
    });
    // Redis keeps retained messages itself; in memory, a gateway's SUBSCRIBE must not scan them all.
    if (!shared) indexRetained((this.aedes as unknown as { persistence: RetainedStore }).persistence);
    this.track();
    this.tcp = net.createServer((socket) => this.accept(socket, socket.remoteAddress ?? ''));
    this.port = await listen(this.tcp, this.o.port, this.o.host);
    if (this.o.healthPort !== undefined) {
      this.health = http.createServer((req, res) => this.onHealth(req, res));
      this.healthPort = await listen(this.health, this.o.healthPort, this.o.host);
    }
    if (this.o.wsPort !== undefined) await this.startWebSocket(this.o.wsPort);
    if (this.o.tls) await this.startTls(this.o.tls);
    this.pruner = setInterval(() => {
      this.buckets.prune();
      this.backoff.prune();
    }, 60_000).unref();
    if (this.o.usersFile && this.o.usersPollMs !== 0) this.watchUsers(this.o.usersFile, this.o.usersPollMs ?? 1000);
    return this;
  }

  /** The same broker, users and ACL over WebSocket: each socket becomes a stream Aedes reads MQTT from. */
  private async startWebSocket(port: number): Promise<void> {
    this.ws = http.createServer(upgradeOnly);
    this.wss = this.webSocketServer(this.ws);
    this.wsPort = await listen(this.ws, port, this.o.host);
  }

  /** `admitted`: the connection already took its turn from the address's bucket (TLS, before the handshake). */
  private webSocketServer(server: http.Server | https.Server, admitted = false): WebSocketServer {
    // ws holds a whole frame before the gate sees it: frames are held to the largest gateway packet.
    const wss = new WebSocketServer({ server, path: '/mqtt', maxPayload: this.limits.packet.gateway });
    wss.on('connection', (socket: WebSocket, req) => {
      if (!admitted && !this.admitConnection(req.socket.remoteAddress ?? '')) return socket.terminate();
      this.handle(createWebSocketStream(socket), req.socket.remoteAddress ?? '', req, req.socket);
    });
    return wss;
  }

  /**
   * The mqtts and wss listeners. A certificate is asked for when there is a CA, but a handshake without
   * one goes on: the login then decides (a password, unless certificates are required), and a refusal
   * is a CONNACK with a reason in the log rather than a bare TLS alert.
   */
  private async startTls(files: TlsFiles): Promise<void> {
    const opts: tls.TlsOptions = {
      ...readTls(files, '--tls-cert'),
      requestCert: !!files.ca,
      rejectUnauthorized: false,
      // A socket that never finishes its handshake is held no longer than one that never sends CONNECT.
      handshakeTimeout: this.limits.connectTimeoutMs,
    };
    // A handshake costs the broker CPU: the address's bucket is taken before it, not after.
    const gate = (socket: net.Socket) => {
      if (this.admitConnection(socket.remoteAddress ?? '')) return;
      socket.on('error', () => undefined);
      socket.destroy();
    };
    const failed = (e: Error, socket: tls.TLSSocket) => {
      this.stats.tlsHandshakeFailures++;
      // One line a second at most, as for refused connections.
      if (Date.now() - this.tlsLoggedAt < 1000) return;
      this.tlsLoggedAt = Date.now();
      log('warn', 'TLS handshake failed', {
        address: socket.remoteAddress,
        error: e.message,
        failed_so_far: this.stats.tlsHandshakeFailures,
      });
    };
    if (this.o.tlsPort !== undefined) {
      this.tlsServer = tls.createServer(opts, (socket) =>
        this.handle(socket, socket.remoteAddress ?? '', undefined, socket),
      );
      this.tlsServer.on('connection', gate);
      this.tlsServer.on('tlsClientError', failed);
      this.tlsPort = await listen(this.tlsServer, this.o.tlsPort, this.o.host);
    }
    if (this.o.wssPort !== undefined) {
      this.wssHttp = https.createServer(opts, upgradeOnly);
      this.wssHttp.on('connection', gate);
      this.wssHttp.on('tlsClientError', failed);
      this.wssSockets = this.webSocketServer(this.wssHttp, true);
      this.wssPort = await listen(this.wssHttp, this.o.wssPort, this.o.host);
    }
  }

  /**
   * Reads the certificate, key and CA again (on SIGHUP): new connections get them, open ones keep theirs.
   * Files that do not load leave the ones loaded before.
   */
  reloadTls(): boolean {
    if (!this.o.tls) return false;
    try {
      const opts = readTls(this.o.tls, '--tls-cert');
      this.tlsServer?.setSecureContext(opts);
      this.wssHttp?.setSecureContext(opts);
    } catch (e) {
      this.stats.tlsReloadFailed++;
      log('error', 'TLS files not reloaded; the ones loaded before stay', { error: (e as Error).message });
      return false;
    }
    this.stats.tlsReloaded++;
    log('info', 'TLS certificate reloaded', { cert: this.o.tls.cert, ca: this.o.tls.ca ?? 'none' });
    return true;
  }

  /** Keeps the sets of connected clients and of each client's filters up to date. */
  private track(): void {
    this.aedes.on('clientReady', (c) => this.live.add(c));
    this.aedes.on('unsubscribe', (filters, c) => {
      const held = this.subscriptions.get(c);
      for (const f of filters) held?.delete(f);
    });
  }

  /** A new TCP connection: the per-address bucket first, then the packet gate in front of Aedes. */
  private accept(socket: net.Socket, address: string): void {
    if (this.admitConnection(address)) return this.handle(socket, address, undefined, socket);
    socket.on('error', () => undefined);
    socket.destroy();
  }

  private admitConnection(address: string): boolean {
    if (this.buckets.take(address)) return true;
    this.stats.refusedRate++;
    // One line a second at most: a flood of refusals must not become a flood of log lines.
    if (Date.now() - this.rateLoggedAt >= 1000) {
      this.rateLoggedAt = Date.now();
      log('warn', 'connection refused: too many attempts from one address', {
        address,
        refused_so_far: this.stats.refusedRate,
      });
    }
    return false;
  }

  private handle(stream: Duplex, address: string, req?: http.IncomingMessage, socket?: net.Socket): void {
    const gate: PacketGate = new PacketGate(stream, address, this.limits.connectPacket, (r) =>
      this.onGateRefusal(gate, r),
    );
    const cert = socket instanceof tls.TLSSocket ? peerIdentity(socket) : undefined;
    if (cert) this.certs.set(gate, cert);
    const client = this.aedes.handle(gate, req);
    gate.once('close', () => this.live.delete(client));
  }

  private onGateRefusal(gate: PacketGate, r: GateRefusal): void {
    if (r.kind === 'malformed') this.stats.malformedPackets++;
    else this.stats.oversizePackets++;
    log('warn', r.kind === 'oversize' ? 'packet over the limit: connection closed' : 'malformed packet length', {
      address: gate.address,
      user: gate.who ?? '(before login)',
      ...(r.kind === 'oversize' ? { bytes: r.size, limit: r.limit } : {}),
    });
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

  private onAuthenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (e: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    this.authenticate(client, username, password).then(
      () => {
        this.stats.connects++;
        done(null, true);
      },
      (e: AuthenticateError) => {
        if (e.message !== ABANDONED) return this.refuse(client, username, e, done);
        this.stats.abandonedLogins++;
        done(e, false);
      },
    );
  }

  /** Answers a refused login; a wrong password waits longer each time for its user and address. */
  private refuse(
    client: Client,
    username: string | undefined,
    e: AuthenticateError,
    done: (e: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    this.stats.refused++;
    const address = gateOf(client)?.address ?? '';
    const delay = e.returnCode === BAD_LOGIN ? this.backoff.fail(this.backoffKeys(username, address)) : 0;
    log('warn', 'connection refused', {
      client: client.id,
      username,
      address,
      reason: e.message,
      ...(delay ? { delayed_ms: delay } : {}),
    });
    if (delay === 0) return done(e, false);
    this.stats.loginDelays++;
    setTimeout(() => done(e, false), delay).unref();
  }

  private backoffKeys(username: string | undefined, address: string): string[] {
    // Unknown names get no key of their own, or every guessed name would grow the map.
    const known = username !== undefined && this.users.has(username);
    return [`addr:${address}`, ...(known ? [`user:${username}`] : [])];
  }

  /** How long the next refused login of `username` from `address` would wait. */
  loginDelay(username: string, address: string): number {
    return this.backoff.delay(this.backoffKeys(username, address));
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<void> {
    const gate = gateOf(client);
    const who = await this.login(username, password, gate && this.certs.get(gate), () => client.conn.destroyed);
    this.claimClientId(client, who);
    this.principals.set(client, who);
    this.subscriptions.set(client, new Set());
    gateOf(client)?.admit(this.limits.packet[who.role], who.username || ANONYMOUS);
  }

  private async login(
    username: string | undefined,
    password: Buffer | undefined,
    cert: PeerIdentity | undefined,
    gone: () => boolean = () => false,
  ): Promise<Principal> {
    const byCert = certLogin(cert, username, (name) => this.users.get(name), !!this.o.requireClientCert);
    if (byCert && 'refused' in byCert) {
      this.stats.refusedCert++;
      throw authError(byCert.refused, NOT_AUTHORIZED);
    }
    if (byCert) return byCert;
    if (username === undefined) {
      if (!this.o.allowAnonymous)
        throw authError(
          'anonymous clients are not allowed (start the broker with --allow-anonymous to permit read-only access)',
          NOT_AUTHORIZED,
        );
      return { username: '', role: 'operator' };
    }
    const user = this.users.get(username);
    const pw = password?.toString('utf8') ?? '';
    if (!user) throw authError(`unknown user ${username}`, BAD_LOGIN);
    const digest = createHash('sha256').update(user.password).update('\0').update(pw).digest('hex');
    if (this.verified.get(username) !== digest) {
      const ok = await this.scrypts.run(async () => {
        if (gone()) throw authError(ABANDONED, NOT_AUTHORIZED);
        return verifyPassword(pw, user.password);
      });
      if (!ok) throw authError(`wrong password for ${username}`, BAD_LOGIN);
      this.verified.set(username, digest);
    }
    return { username, role: user.role };
  }

  /**
   * Puts the session under an id its user owns (broker/client-ids.ts), or refuses the login: connecting
   * with an id ends the session of whoever holds it, so no one may pick another user's.
   */
  private claimClientId(client: Client, who: Principal): void {
    if (Buffer.byteLength(client.id) > this.limits.maxClientIdLength) {
      this.stats.refusedClientId++;
      throw authError(`client id longer than ${this.limits.maxClientIdLength} bytes`, IDENTIFIER_REJECTED);
    }
    const s = sessionId(who, client.id, (name) => this.users.has(name));
    if ('refused' in s) {
      this.stats.refusedClientId++;
      throw authError(s.refused, NOT_AUTHORIZED);
    }
    client.id = s.id;
  }

  /** Why `client` may not publish `packet` (the connection is then closed), or null. */
  private publishRefusal(client: Client, packet: PublishPacket): Error | null {
    const who = this.principals.get(client);
    const why = this.whyNotPublish(who, packet);
    if (!why) return null;
    const topic = packet.topic.slice(0, this.limits.maxTopicLength);
    log('warn', 'publish denied', { client: client.id, user: who?.username, topic, reason: why });
    return new Error(`not authorised to publish to ${topic}: ${why}`);
  }

  private whyNotPublish(who: Principal | undefined, packet: PublishPacket): string | null {
    if (Buffer.byteLength(packet.topic) > this.limits.maxTopicLength) {
      this.stats.longTopics++;
      return `topic longer than ${this.limits.maxTopicLength} bytes`;
    }
    if (!who || !canPublish(who, this.prefix, packet.topic, this.shards)) {
      this.stats.deniedPublish++;
      return 'not allowed to this role';
    }
    if (packet.retain && !mayRetain(who, this.prefix, packet.topic)) {
      this.stats.deniedRetain++;
      return 'a gateway may not retain on up/';
    }
    return null;
  }

  private subscribeAllowed(client: Client, filter: string): boolean {
    const who = this.principals.get(client);
    const why = this.whyNotSubscribe(client, who, filter);
    if (why) {
      const topic = filter.slice(0, this.limits.maxTopicLength);
      log('warn', 'subscribe denied', { client: client.id, user: who?.username, topic, reason: why });
    }
    return !why;
  }

  private whyNotSubscribe(client: Client, who: Principal | undefined, filter: string): string | null {
    if (Buffer.byteLength(filter) > this.limits.maxTopicLength) {
      this.stats.longTopics++;
      return `filter longer than ${this.limits.maxTopicLength} bytes`;
    }
    if (!who || !canSubscribe(who, this.prefix, filter)) {
      this.stats.deniedSubscribe++;
      return 'not allowed to this role';
    }
    const held = this.subscriptions.get(client) ?? new Set<string>();
    this.subscriptions.set(client, held);
    if (!held.has(filter) && held.size >= this.limits.maxSubscriptions) {
      this.stats.tooManySubscriptions++;
      return `more than ${this.limits.maxSubscriptions} subscriptions`;
    }
    held.add(filter);
    return null;
  }

  /**
   * Reads the users file again (on SIGHUP, and when it changes). A file that does not load keeps the
   * users loaded before. Clients of a removed user, or of one whose role or password changed, are closed.
   */
  reloadUsers(): boolean {
    const file = this.o.usersFile;
    if (!file) return false;
    let users: User[];
    try {
      users = loadUsers(file);
    } catch (e) {
      this.stats.usersReloadFailed++;
      log('error', 'users file not reloaded; the users loaded before stay', { file, error: (e as Error).message });
      return false;
    }
    const closed = this.replaceUsers(users);
    this.stats.usersReloaded++;
    log('info', 'users reloaded', { file, users: users.length, disconnected: closed });
    return true;
  }

  private replaceUsers(users: User[]): number {
    const before = this.users;
    const after = new Map(users.map((u) => [u.username, u]));
    const changed = (name: string) => {
      const [a, b] = [before.get(name), after.get(name)];
      return !b || a?.role !== b.role || a.password !== b.password;
    };
    this.users = after;
    for (const name of [...this.verified.keys()]) if (!after.has(name)) this.verified.delete(name);
    let closed = 0;
    for (const c of [...this.live]) {
      const who = this.principals.get(c);
      if (!who?.username || !changed(who.username)) continue;
      c.close();
      closed++;
    }
    return closed;
  }

  /** Polls the file's metadata: it sees a file replaced by rename, and works on any file system. */
  private watchUsers(file: string, intervalMs: number): void {
    const onChange = (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) this.reloadUsers();
    };
    watchFile(file, { interval: intervalMs, persistent: false }, onChange);
    this.unwatchUsers = () => unwatchFile(file, onChange);
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
    clearInterval(this.pruner);
    this.unwatchUsers?.();
    this.health?.close();
    for (const wss of [this.wss, this.wssSockets]) {
      for (const c of wss?.clients ?? []) c.terminate();
      wss?.close();
    }
    this.ws?.close();
    this.wssHttp?.close();
    this.tlsServer?.close();
    this.tcp.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    this.redisConn?.disconnect();
  }
}

/** A plain request to a WebSocket listener: say where MQTT is. */
function upgradeOnly(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket at /mqtt\n');
}

function gateOf(client: Client): PacketGate | undefined {
  return client.conn instanceof PacketGate ? client.conn : undefined;
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
