// The state of an operator's MQTT connection, told honestly: connected, disconnected (and why, and that
// the client retries), or refused (a wrong user or password, which no retry fixes). Fed by the client's
// events; each change of phase is returned once, for a banner or a line in a log.
import { beijingText } from '../protocol/time.ts';

export type Phase = 'connecting' | 'connected' | 'disconnected' | 'refused';

export interface ConnectionState {
  phase: Phase;
  /** When this phase began (the watcher's clock). */
  since: number;
  /** Why it is not connected: the broker's refusal or the socket's error. */
  reason?: string;
  /** Reconnect attempts since the connection was lost. */
  attempts: number;
}

/** CONNACK return codes 4 (bad user name or password) and 5 (not authorized): the login was refused. */
const REFUSED = new Set([4, 5]);

export class Connection {
  state: ConnectionState;
  /** When the latest message arrived, if any has. */
  lastMessage?: number;
  private lastError?: string;

  constructor(private clock: () => number = Date.now) {
    this.state = { phase: 'connecting', since: clock(), attempts: 0 };
  }

  /** The client is connected: returns the new state. */
  connected(): ConnectionState | null {
    this.lastError = undefined;
    return this.enter('connected');
  }

  /** An error: a refused login is final; anything else is kept as the reason of the next disconnect. */
  error(e: Error & { code?: unknown }): ConnectionState | null {
    const msg = e.message.replace(/^Connection refused: /, '');
    if (typeof e.code === 'number' && REFUSED.has(e.code)) return this.enter('refused', msg);
    this.lastError = msg;
    return null;
  }

  /** The connection closed (or a connection attempt failed). */
  closed(): ConnectionState | null {
    if (this.state.phase === 'refused') return null;
    return this.enter('disconnected', this.lastError ?? 'connection closed');
  }

  /** The client tries again. */
  reconnecting(): void {
    this.state.attempts++;
  }

  message(): void {
    this.lastMessage = this.clock();
  }

  private enter(phase: Phase, reason?: string): ConnectionState | null {
    if (this.state.phase === phase) {
      if (reason) this.state.reason = reason;
      return null;
    }
    this.state = { phase, since: this.clock(), attempts: 0, ...(reason ? { reason } : {}) };
    return this.state;
  }
}

/** A change of the connection as a line of its own: text, or JSON with a `connection` key (events have none). */
export function connectionLine(
  s: ConnectionState,
  o: { broker: string; user: string; json: boolean; retryMs: number },
): string {
  const doc = {
    connection: s.phase,
    ts: s.since,
    broker: o.broker,
    ...(s.phase === 'connected' || s.phase === 'refused' ? { user: o.user } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
  };
  if (o.json) return JSON.stringify(doc);
  const what =
    s.phase === 'connected'
      ? `${o.broker} as ${o.user}`
      : s.phase === 'refused'
        ? `${o.broker} refused the login of "${o.user}" (${s.reason})`
        : `${o.broker} (${s.reason}); retrying every ${o.retryMs / 1000} s`;
  return `${beijingText(s.since, true)}  ${s.phase.padEnd(12)} ${what}`;
}
