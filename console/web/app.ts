// The operator console in the browser: MQTT over WebSocket to the broker (as an operator user), the same
// NetworkView as the `watch` CLI, drawn as tables once a second. Bundled by console/server.ts.
import mqtt, { type MqttClient } from 'mqtt';
import { beijing, NetworkView } from '../network-view.ts';
import { Topics } from '../../protocol/topics.ts';

interface Config {
  ws: string;
  prefix: string;
}

// HJ 633 level colours (levels 1–6).
const LEVEL_RGB = ['#00e400', '#ffff00', '#ff7e00', '#ff0000', '#99004c', '#7e0023'];
const $ = (id: string) => document.getElementById(id)!;
const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (v: unknown) => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : '-');
const table = (id: string, head: string[], rows: string[][]) => {
  $(id).innerHTML =
    `<tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>` +
    (rows.length
      ? rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')
      : `<tr><td class="muted" colspan="${head.length}">none</td></tr>`);
};

let client: MqttClient | undefined;
let view: NetworkView;

function draw(): void {
  table(
    'gateways',
    ['gateway', 'state', 'up', 'degraded', 'down', 'pushing', 'outbox', 'clock'],
    [...view.gateways.values()].map((g) => [
      esc(g.gw),
      `<span class="${esc(g.state)}">${esc(g.state)}</span>`,
      String(g.up),
      String(g.degraded),
      g.down.length ? `<span class="offline">${g.down.map((d) => esc(d.dev)).join(', ')}</span>` : '0',
      g.pushing
        ? `${g.pushing}${g.silent.length ? ` <span class="offline">(silent: ${g.silent.map(esc).join(', ')})</span>` : ''}`
        : '-',
      String(g.outbox ?? '-'),
      g.clockOffsetMs === undefined ? '-' : `${g.clockOffsetMs} ms`,
    ]),
  );
  table(
    'alarms',
    ['device', 'rule', 'field', 'since', 'now', 'limit', 'peak'],
    view
      .openAlarms()
      .map((a) => [
        esc(a.dev),
        esc(a.rule),
        esc(a.field),
        beijing(a.since, true),
        num(a.value),
        num(a.limit),
        num(a.peak),
      ]),
  );
  table(
    'air',
    ['series', 'hour', 'AQI', 'category', 'primary', '24 h', 'warning'],
    [...view.aqi.values()]
      .sort((a, b) => (b.aqi ?? -1) - (a.aqi ?? -1))
      .map((a) => [
        esc(a.dev),
        beijing(a.hour),
        `<span class="aqi" style="background:${LEVEL_RGB[(a.level ?? 1) - 1] ?? '#888'}">${a.aqi ?? 'NA'}</span>`,
        esc(a.category),
        esc(a.primary?.join(', ')),
        String(a.aqi24 ?? '-'),
        esc(a.warning),
      ]),
  );
  table(
    'events',
    ['time', 'state', 'device', 'rule', 'field', 'value', 'limit', ''],
    view.events
      .slice(0, 30)
      .map((e) => [
        beijing(e.ts, true),
        `<span class="${esc(e.state)}">${esc(e.state)}</span>`,
        esc(e.dev),
        esc(e.rule),
        esc(e.field),
        num(e.value),
        num(e.limit),
        esc(e.attrs?.plate ?? ''),
      ]),
  );
}

async function start(): Promise<void> {
  const cfg = (await (await fetch('config.json')).json()) as Config;
  const topics = new Topics(cfg.prefix);
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    client?.end(true);
    view = new NetworkView(topics);
    const username = ($('user') as HTMLInputElement).value;
    const password = ($('password') as HTMLInputElement).value;
    client = mqtt.connect(cfg.ws, { username, password, clean: true, reconnectPeriod: 2000, protocolVersion: 4 });
    $('state').textContent = `connecting to ${cfg.ws} …`;
    client.on('connect', () => {
      $('state').textContent = `connected to ${cfg.ws} as ${username}`;
      client!.subscribe({
        [`${cfg.prefix}/status/+`]: { qos: 1 },
        [`${cfg.prefix}/alert/+`]: { qos: 1 },
        [`${cfg.prefix}/live/#`]: { qos: 0 },
      });
    });
    client.on('error', (e) => {
      $('state').textContent = `${e.message}: check the user and password`;
    });
    client.on('close', () => {
      if (!client?.connected) $('state').textContent = 'disconnected; retrying …';
    });
    client.on('message', (topic, payload, packet) => view.onMessage(topic, payload.toString(), packet.retain));
  });
  setInterval(() => {
    if (view) draw();
  }, 1000);
}

void start();
