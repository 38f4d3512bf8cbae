// Logins and topic rights decided for another broker (EMQX, VerneMQ) by the same rules as ours: the users
// file (users.ts), client ids owned by users (client-ids.ts) and the role ACL (acl.ts).
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { canPublish, canSubscribe, mayRetain, type Principal } from './acl.ts';
import { sessionId } from './client-ids.ts';
import { Gate, LoginBackoff } from './guards.ts';
import { verifyPassword, type User } from './users.ts';

export type Verdict = { allow: true; who: Principal } | { allow: false; reason: string };

export interface LoginAttempt {
  username: string | undefined;
  password: string | undefined;
  clientId: string | undefined;
  /** The client's address, for the failed-login back-off. */
  peer: string | undefined;
}

export interface TopicAttempt {
  username: string | undefined;
  clientId: string | undefined;
  topic: string;
  action: 'publish' | 'subscribe';
  retain: boolean;
}

export interface CheckerOptions {
  prefix: string;
  shards: number;
  /** A refused login is answered after 0, base, 2·base … up to max (below the caller's HTTP timeout). */
  backoff: { baseMs: number; maxMs: number; windowMs: number };
  /** scrypt checks run at once, on libuv's threads; default: one core fewer than the machine has. */
  scryptAtOnce?: number;
}

export class AuthChecker {
  private users = new Map<string, User>();
  /** SHA-256 of each user's hash and last verified password: scrypt once per password, not per login. */
  private verified = new Map<string, string>();
  readonly backoff: LoginBackoff;
  /** Leaves a core to the event loop: scrypt is 16 MiB of memory-hard work per check. */
  private scrypts: Gate;

  constructor(
    users: User[],
    private o: CheckerOptions,
  ) {
    this.setUsers(users);
    this.backoff = new LoginBackoff(o.backoff);
    this.scrypts = new Gate(o.scryptAtOnce ?? Math.max(1, availableParallelism() - 1));
  }

  setUsers(users: User[]): void {
    this.users = new Map(users.map((u) => [u.username, u]));
    for (const name of [...this.verified.keys()]) if (!this.users.has(name)) this.verified.delete(name);
  }

  /** The verdict on a login, and how long to hold a refusal before answering it. */
  async login(a: LoginAttempt): Promise<{ verdict: Verdict; delayMs: number }> {
    const verdict = await this.check(a);
    if (verdict.allow) return { verdict, delayMs: 0 };
    // Unknown names get no key of their own, or every guessed name would grow the map.
    const keys = [`addr:${a.peer ?? ''}`, ...(a.username && this.users.has(a.username) ? [`user:${a.username}`] : [])];
    return { verdict, delayMs: this.backoff.fail(keys) };
  }

  private async check(a: LoginAttempt): Promise<Verdict> {
    if (!a.username) return { allow: false, reason: 'anonymous clients are not allowed' };
    const user = this.users.get(a.username);
    if (!user) return { allow: false, reason: `unknown user ${a.username}` };
    const pw = a.password ?? '';
    const digest = createHash('sha256').update(user.password).update('\0').update(pw).digest('hex');
    if (this.verified.get(user.username) !== digest) {
      if (!(await verifyPassword(pw, user.password)))
        return { allow: false, reason: `wrong password for ${a.username}` };
      this.verified.set(user.username, digest);
    }
    const who: Principal = { username: user.username, role: user.role };
    const id = sessionId(who, a.clientId ?? '', (name) => this.users.has(name));
    if ('refused' in id) return { allow: false, reason: id.refused };
    return { allow: true, who };
  }

  /** The verdict on a PUBLISH or SUBSCRIBE of a logged-in client. */
  topic(a: TopicAttempt): Verdict {
    const user = a.username === undefined ? undefined : this.users.get(a.username);
    if (!user) return { allow: false, reason: `unknown user ${a.username ?? '(none)'}` };
    const who: Principal = { username: user.username, role: user.role };
    // A gateway's session is its name (docs/protocol.md §2.3): a request naming another client id is not one of its own.
    if (who.role === 'gateway' && a.clientId !== undefined && a.clientId !== who.username)
      return { allow: false, reason: `gateway ${who.username} must use client id ${who.username}` };
    const { prefix, shards } = this.o;
    if (a.action === 'subscribe')
      return canSubscribe(who, prefix, unshared(a.topic))
        ? { allow: true, who }
        : { allow: false, reason: `${who.username} may not subscribe to ${a.topic}` };
    if (!canPublish(who, prefix, a.topic, shards))
      return { allow: false, reason: `${who.username} may not publish on ${a.topic}` };
    if (a.retain && !mayRetain(who, prefix, a.topic))
      return { allow: false, reason: `${who.username} may not retain on ${a.topic}` };
    return { allow: true, who };
  }

  prune(): void {
    this.backoff.prune();
  }
}

/** `$share/{group}/{filter}` is a shared subscription to `{filter}`: the rights are those of the filter. */
function unshared(filter: string): string {
  const m = /^\$share\/[^/]+\/(.*)$/.exec(filter);
  return m ? m[1]! : filter;
}
