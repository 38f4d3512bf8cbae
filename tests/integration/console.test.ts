// The operator console: the broker's MQTT over WebSocket (same users and ACL as TCP) and the page served
// by `qingcheng console`, with its bundled script and where to find the broker.
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { ConsoleServer } from '../../console/server.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

const t = new Topics();
let broker: Broker;
let web: ConsoleServer;
beforeAll(async () => {
  broker = await new Broker({ port: 0, wsPort: 0, users: await makeUsers(['gw-c']) }).start();
  web = await new ConsoleServer({ port: 0, ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`, prefix: 'env/v1' }).start();
});
afterAll(async () => {
  await web.stop();
  await broker.stop();
});

const ws = (username: string, password: string) =>
  mqtt.connectAsync(`ws://127.0.0.1:${broker.wsPort}/mqtt`, {
    username,
    password,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });

it('serves MQTT over WebSocket with the same users and ACL as TCP', async () => {
  const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    clientId: 'gw-c',
    username: 'gw-c',
    password: PASSWORDS.gateway,
    protocolVersion: 4,
  });
  await gw.publishAsync(t.status('gw-c'), '{"state":"online"}', { qos: 1, retain: true });
  const op = await ws('operator', PASSWORDS.operator);
  const got = new Promise<string>((r) => op.on('message', (_t, p) => r(p.toString())));
  await op.subscribeAsync(t.status('+'), { qos: 1 });
  expect(await got).toBe('{"state":"online"}');
  // An operator is read-only over WebSocket too: a publish ends its connection.
  const closed = new Promise<void>((r) => op.once('close', () => r()));
  op.publish(t.status('gw-c'), 'forged', { qos: 1 });
  await closed;
  await expect(ws('operator', 'wrong')).rejects.toThrow(/Bad username or password/i);
  await gw.endAsync();
  op.end(true);
});

it("serves the page, its bundled script and the broker's WebSocket address", async () => {
  const base = `http://127.0.0.1:${web.port}`;
  const page = await fetch(`${base}/`);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
  expect((await fetch(`${base}/style.css`)).headers.get('content-type')).toContain('text/css');
  const js = await (await fetch(`${base}/app.js`)).text();
  expect(js.length).toBeGreaterThan(10_000); // MQTT.js and the network view, bundled for the browser
  expect(js).toContain('config.json');
  expect(await (await fetch(`${base}/config.json`)).json()).toEqual({
    ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`,
    prefix: 'env/v1',
  });
  expect((await fetch(`${base}/nothing`)).status).toBe(404);
});

it('answers the alarm API only to operators, and says when it has no database', async () => {
  const base = `http://127.0.0.1:${web.port}`;
  expect((await fetch(`${base}/api/alarms?since=1`)).status).toBe(401);
  const auth = `Basic ${Buffer.from(`operator:${PASSWORDS.operator}`).toString('base64')}`;
  const res = await fetch(`${base}/api/alarms?since=1`, { headers: { authorization: auth } });
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ error: 'no database: start the console with --influx-url and --db' });
});

it('serves the CJK font with the page, only its files', async () => {
  const base = `http://127.0.0.1:${web.port}`;
  const css = await (await fetch(`${base}/fonts/noto-sans-sc.css`)).text();
  expect(css).toContain("font-family: 'Noto Sans SC'");
  const first = /url\(\.\/(files\/[^)]+\.woff2)\)/.exec(css)![1]!;
  const font = await fetch(`${base}/fonts/${first}`);
  expect(font.status).toBe(200);
  expect(font.headers.get('content-type')).toBe('font/woff2');
  expect((await font.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  expect((await fetch(`${base}/fonts/files/..%2F..%2Fpackage.json`)).status).toBe(404);
  expect((await fetch(`${base}/fonts/files/noto-sans-sc-999-400-normal.woff2`)).status).toBe(404);
});
