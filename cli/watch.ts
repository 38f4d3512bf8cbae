// `qingcheng watch`: the operator's view of the network from MQTT. On a terminal a screen that redraws
// every second and fits the terminal (gateways, open alarms, air quality, recent events); otherwise, or
// with --lines or --json, one line per alarm event and per change of the connection (connected,
// disconnected, login refused), so a pipe can tell a quiet network from a broken link; with --once, the
// screen printed once.
import mqtt from 'mqtt';
import { Connection, connectionLine, type ConnectionState } from '../console/connection.ts';
import { beijing, NetworkView } from '../console/network-view.ts';
import { eventLine, renderView } from '../console/screen.ts';
import { DEFAULT_PREFIX, Topics } from '../protocol/topics.ts';
import { parse } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883', env: 'QC_MQTT_URL', help: 'broker URL' },
  username: {
    type: 'string',
    default: 'operator',
    env: 'QC_MQTT_USERNAME',
    help: 'broker user (role operator is enough)',
  },
  password: { type: 'string', env: 'QC_MQTT_PASSWORD', help: 'broker password' },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  json: {
    type: 'boolean',
    help: 'print each alarm event and each change of the connection as a JSON line instead of the screen',
  },
  lines: {
    type: 'boolean',
    help: 'print each alarm event and each change of the connection as a text line instead of the screen',
  },
  once: {
    type: 'boolean',
    help: 'print the screen once, from what the broker holds (retained status, alarms, readings), and exit',
  },
} as const;

/** --once: the view is printed when no retained message has come for this long after subscribing … */
const ONCE_QUIET_MS = 300;
/** … or this long after subscribing, whichever is first (live readings keep coming and never go quiet). */
const ONCE_MAX_MS = 3000;
/** --once: a broker that cannot be reached in this long is an error, not something to wait for. */
const ONCE_CONNECT_MS = 10_000;
const RECONNECT_MS = 2000;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng watch [options]', OPTS);
  const topics = new Topics(a.prefix!);
  const view = new NetworkView(topics);
  const conn = new Connection();
  const screen = process.stdout.isTTY && !a.json && !a.lines && !a.once;
  const client = mqtt.connect(a.mqtt!, {
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: a.password } : {}),
    clean: true,
    reconnectPeriod: RECONNECT_MS,
    protocolVersion: 4,
  });
  const header = () => ({ title: 'qingcheng watch', state: stateText(conn.state), broker: a.mqtt! });
  const size = () => ({ columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  const once = a.once
    ? new Once(
        () => {
          const lines = renderView(view, Date.now(), header(), { columns: size().columns, rows: 1000 });
          process.stdout.write(lines.join('\n') + '\n', () => {
            void client.endAsync().then(() => process.exit(0));
          });
        },
        () => {
          process.stderr.write(`qingcheng watch: cannot reach ${a.mqtt} (${stateText(conn.state)})\n`);
          process.exit(1);
        },
      )
    : undefined;
  // Where the connection's changes go: a line each in a log or a pipe; the screen's header otherwise.
  const report = (s: ConnectionState | null) => {
    if (s && !screen && !once)
      process.stdout.write(
        connectionLine(s, { broker: a.mqtt!, user: a.username ?? '', json: !!a.json, retryMs: RECONNECT_MS }) + '\n',
      );
  };
  client.on('connect', () => {
    report(conn.connected());
    client.subscribe(
      { [`${a.prefix}/status/+`]: { qos: 1 }, [`${a.prefix}/alert/+`]: { qos: 1 }, [`${a.prefix}/live/#`]: { qos: 0 } },
      (err, granted) => {
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (err || refused.length) {
          process.stderr.write(
            `qingcheng watch: not allowed to read ${refused.join(', ') || err?.message}: use an operator user\n`,
          );
          if (once) process.exit(1);
        }
        once?.subscribed();
      },
    );
  });
  client.on('close', () => report(conn.closed()));
  client.on('reconnect', () => conn.reconnecting());
  client.on('error', (e) => {
    const s = conn.error(e as Error & { code?: unknown });
    if (s?.phase !== 'refused') return;
    // A refused login will not get better by retrying.
    report(s);
    process.stderr.write(
      `qingcheng watch: ${a.mqtt} refused the login of "${a.username}" (${s.reason}): check --username and --password\n`,
    );
    process.stdout.write('', () => process.exit(1));
  });
  client.on('message', (topic, payload, packet) => {
    conn.message();
    const ev = view.onMessage(topic, payload, packet.retain);
    if (packet.retain) once?.retained();
    if (!ev || screen || once) return;
    process.stdout.write((a.json ? JSON.stringify(ev) : eventLine(ev)) + '\n');
  });
  if (screen) {
    const draw = () => {
      process.stdout.write('\x1b[H\x1b[2J' + renderView(view, Date.now(), header(), size()).join('\n'));
    };
    const timer = setInterval(draw, 1000);
    process.stdout.on('resize', draw);
    draw();
    onShutdown(async () => {
      clearInterval(timer);
      await client.endAsync();
    });
  } else {
    onShutdown(() => client.endAsync());
  }
}

/** The connection in the screen's header. */
function stateText(s: ConnectionState): string {
  if (s.phase === 'disconnected') return `DISCONNECTED since ${beijing(s.since)} (${s.reason}), retrying`;
  if (s.phase === 'refused') return `LOGIN REFUSED (${s.reason})`;
  return s.phase;
}

/**
 * When to print the --once view. MQTT does not say when the retained messages of a subscription have
 * all arrived, so the view is taken once they pause, or after a cap.
 */
class Once {
  private quiet?: NodeJS.Timeout;
  private cap?: NodeJS.Timeout;
  private done = false;
  private noBroker: NodeJS.Timeout;

  constructor(
    private print: () => void,
    unreachable: () => void,
  ) {
    this.noBroker = setTimeout(unreachable, ONCE_CONNECT_MS);
  }

  subscribed(): void {
    clearTimeout(this.noBroker);
    this.cap ??= setTimeout(() => this.fire(), ONCE_MAX_MS);
    this.retained();
  }

  retained(): void {
    if (!this.cap) return; // before the subscription is acknowledged
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.fire(), ONCE_QUIET_MS);
  }

  private fire(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.quiet);
    clearTimeout(this.cap);
    this.print();
  }
}
