// `qingcheng watch`: the operator's view of the network from MQTT. On a terminal a screen that redraws
// every second (gateways, open alarms, air quality, recent events); otherwise, or with --json, one line
// per alarm event, for a log or a pipe.
import mqtt from 'mqtt';
import { eventLine, NetworkView, renderView } from '../console/network-view.ts';
import { DEFAULT_PREFIX, Topics } from '../protocol/topics.ts';
import { parse } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883', env: 'QC_MQTT_URL', help: 'broker URL' },
  username: { type: 'string', default: 'operator', env: 'QC_MQTT_USERNAME', help: 'broker user (role operator is enough)' },
  password: { type: 'string', env: 'QC_MQTT_PASSWORD', help: 'broker password' },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  json: { type: 'boolean', help: 'print each alarm event as a JSON line instead of the screen' },
  lines: { type: 'boolean', help: 'print each alarm event as a text line instead of the screen' },
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng watch [options]', OPTS);
  const topics = new Topics(a.prefix!);
  const view = new NetworkView(topics);
  const screen = process.stdout.isTTY && !a.json && !a.lines;
  const client = mqtt.connect(a.mqtt!, {
    ...(a.username ? { username: a.username } : {}), ...(a.password ? { password: a.password } : {}),
    clean: true, reconnectPeriod: 2000, protocolVersion: 4,
  });
  let state = 'connecting';
  client.on('connect', () => {
    state = 'connected';
    client.subscribe({ [`${a.prefix}/status/+`]: { qos: 1 }, [`${a.prefix}/alert/+`]: { qos: 1 }, [`${a.prefix}/live/#`]: { qos: 0 } }, (err, granted) => {
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (err || refused.length) process.stderr.write(`qingcheng watch: not allowed to read ${refused.join(', ') || err?.message}: use an operator user\n`);
    });
  });
  client.on('close', () => { state = 'reconnecting'; });
  client.on('error', (e) => {
    // A refused login will not get better by retrying.
    if ((e as { code?: number }).code === 4 || (e as { code?: number }).code === 5) {
      process.stderr.write(`qingcheng watch: ${a.mqtt} refused the login of "${a.username}" (${e.message}): check --username and --password\n`);
      process.exit(1);
    }
    state = `error: ${e.message}`;
  });
  client.on('message', (topic, payload, packet) => {
    const ev = view.onMessage(topic, payload, packet.retain);
    if (!ev || screen) return;
    process.stdout.write((a.json ? JSON.stringify(ev) : eventLine(ev)) + '\n');
  });
  if (screen) {
    const draw = () => {
      const rows = process.stdout.rows ?? 40;
      process.stdout.write('\x1b[H\x1b[2J' + renderView(view, Date.now(), `qingcheng watch — ${a.mqtt} (${state})`, rows) + '\n');
    };
    const timer = setInterval(draw, 1000);
    draw();
    onShutdown(async () => { clearInterval(timer); await client.endAsync(); });
  } else {
    onShutdown(() => client.endAsync());
  }
}
