// Who may use the console's API: the operators the broker lets in. The console server does not read the
// broker's users file (a component imports no other); it asks the broker, logging in over MQTT with the
// HTTP Basic credentials it was sent, and counts the user an operator when the broker grants a
// subscription to status/+, which only the operator and admin roles may read (docs/protocol.md §2.4).
// A verified login is remembered for a minute, so the scrypt check of the broker is not paid per request.
import { createHash } from 'node:crypto';
import mqtt from 'mqtt';

export type Verdict = { ok: true; user: string } | { ok: false; status: 401 | 403 | 502; error: string };

const REMEMBER_MS = 60_000;
const CONNECT_MS = 10_000;

export class OperatorAuth {
  private verified = new Map<string, number>();
  private pending = new Map<string, Promise<Verdict>>();

  constructor(
    /** The broker as the server reaches it (mqtt://, ws://). */
    readonly broker: string,
    readonly prefix: string,
    private clock: () => number = Date.now,
  ) {}

  /** The verdict on an Authorization header. */
  async check(header: string | undefined): Promise<Verdict> {
    const creds = basic(header);
    if (!creds) return { ok: false, status: 401, error: 'log in with an operator user (HTTP Basic)' };
    const key = createHash('sha256').update(`${creds.user}\u0000${creds.password}`).digest('hex');
    if ((this.verified.get(key) ?? 0) > this.clock()) return { ok: true, user: creds.user };
    let p = this.pending.get(key);
    if (!p) {
      p = this.ask(creds.user, creds.password).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const v = await p;
    if (v.ok) this.verified.set(key, this.clock() + REMEMBER_MS);
    return v;
  }

  /** Logs in to the broker and tries to read status/+. */
  private async ask(user: string, password: string): Promise<Verdict> {
    let client: mqtt.MqttClient | undefined;
    try {
      client = await mqtt.connectAsync(this.broker, {
        username: user,
        password,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_MS,
        protocolVersion: 4,
        clean: true,
      });
      // MQTT.js rejects a subscription the broker refused (SUBACK 0x80).
      const granted = await client.subscribeAsync(`${this.prefix}/status/+`, { qos: 0 }).catch(() => null);
      if (!granted || granted.some((g) => g.qos === 128))
        return { ok: false, status: 403, error: `"${user}" is not an operator: the console needs the operator role` };
      return { ok: true, user };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 4) return { ok: false, status: 401, error: `the broker refused the login of "${user}"` };
      if (code === 5) return { ok: false, status: 403, error: `the broker does not authorize "${user}" here` };
      return { ok: false, status: 502, error: `cannot check the login with the broker: ${(e as Error).message}` };
    } finally {
      client?.end(true);
    }
  }
}

/** User and password of a Basic Authorization header (UTF-8). */
export function basic(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) return null;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}
