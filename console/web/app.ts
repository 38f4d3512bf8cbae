// The operator console in the browser: MQTT over WebSocket to the broker (as an operator user), the same
// NetworkView as the `watch` CLI, drawn as tables once a second. Bundled by console/server.ts.
import mqtt, { type MqttClient } from 'mqtt';
import { NetworkView } from '../network-view.ts';
import { isStale } from '../readings.ts';
import { Topics } from '../../protocol/topics.ts';
import { t, type Key } from './i18n.ts';
import { airTable, alarmsTable, aqiNote, eventsTable, gatewaysTable, readingsTables } from './render.ts';

interface Config {
  ws: string;
  prefix: string;
}

const $ = (id: string) => document.getElementById(id)!;

let client: MqttClient | undefined;
let view: NetworkView | undefined;

function draw(): void {
  if (!view) return;
  const now = Date.now();
  $('gateways').innerHTML = gatewaysTable(view, now);
  $('alarms').innerHTML = alarmsTable(view.openAlarms(), now);
  $('readings').innerHTML = readingsTables(view, now, (r) => isStale(r, now));
  $('air').innerHTML = airTable(view, now);
  $('aqi-note').textContent = aqiNote();
  $('events').innerHTML = eventsTable(view.events.slice(0, 30), now);
}

/** The page's fixed words, from the i18n table (elements marked data-t). */
function label(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-t]')) el.textContent = t(el.dataset.t as Key);
}

async function start(): Promise<void> {
  label();
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
    client.on('message', (topic, payload, packet) => view!.onMessage(topic, payload.toString(), packet.retain));
  });
  setInterval(draw, 1000);
}

void start();
