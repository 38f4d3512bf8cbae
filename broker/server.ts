// The Aedes broker: TCP listener, authentication against the users file, the ACL, and a health endpoint.
import { Aedes, type Client } from 'aedes';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { canPublish, canSubscribe, type Principal } from './acl.ts';
import { verifyPassword, type User } from './users.ts';
import { log } from '../protocol/log.ts';

export interface BrokerOptions {
  port: number;
  host?: string;
  /** HTTP health endpoint port; undefined = none, 0 = a free port. */
  healthPort?: number;
  users: User[];
  /** Let clients without a username in, with the operator role (read-only). Off unless asked for. */
  allowAnonymous?: boolean;
  prefix?: string;
  shards?: number;
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
  private principals = new WeakMap<Client, Principal>();
  private users: Map<string, User>;
  /**
   * SHA-256 of each user's last verified password: scrypt is slow on purpose, and a reconnect storm of
   * a thousand gateways should not pay it a thousand times. No plain-text password is kept.
   */
  private verified = new Map<string, string>();
  port = 0;
  healthPort = 0;
  readonly startedAt = Date.now();
  stats = { connects: 0, refused: 0, deniedPublish: 0, deniedSubscribe: 0 };

  constructor(private o: BrokerOptions) {
    this.users = new Map(o.users.map((u) => [u.username, u]));
  }

  async start(): Promise<this> {
    const prefix = this.o.prefix ?? DEFAULT_PREFIX;
    const shards = this.o.shards ?? DEFAULT_SHARDS;
    this.aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          () => { this.stats.connects++; done(null, true); },
          (e: Error & { returnCode: number }) => {
            this.stats.refused++;
            log('warn', 'connection refused', { client: client.id, username, reason: e.message });
            done(e as never, false);
          });
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
    return this;
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<void> {
    if (username === undefined) {
      if (!this.o.allowAnonymous) throw authError('anonymous clients are not allowed (start the broker with --allow-anonymous to permit read-only access)', NOT_AUTHORIZED);
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
    if (user.role === 'gateway' && client.id !== username) throw authError(`gateway ${username} must connect with client id ${username}, not ${client.id}`, NOT_AUTHORIZED);
    this.principals.set(client, { username, role: user.role });
  }

  private onHealth(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url !== '/health') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', clients: this.aedes.connectedClients, uptime_s: Math.round((Date.now() - this.startedAt) / 1000), ...this.stats }));
  }

  get clients(): number { return this.aedes.connectedClients; }

  async stop(): Promise<void> {
    this.health?.close();
    this.tcp.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }
}

export function listen(server: net.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? Object.assign(new Error(`port ${port} on ${host} is already in use: stop what holds it, or choose another port (0 picks a free one)`), { code: e.code })
      : e));
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
