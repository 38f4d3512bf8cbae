// TLS end to end (README "Security"): a throw-away CA made with openssl; `qingcheng broker` serving mqtts
// and wss with client certificates as logins; a `qingcheng gateway` pushed to over HTTPS with a bearer
// token, publishing over mqtts with its certificate, its records acknowledged by a real ingest (over
// mqtts too) and influxd; certificates that must not get in; every listener on 127.0.0.1 unless told
// otherwise. Every child starts on port 0 and its ports are read from its --ready-file.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStatus, type OnlineStatus } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { passes } from '../../simulators/models/rsd.ts';
import { TestPki } from '../helpers/certs.ts';
import { Influxd } from '../helpers/influxd.ts';
import { makeUsers, PASSWORDS, Proc, ROOT } from '../helpers/pipeline.ts';
import { portIn, readyOf, type Ready } from '../helpers/ready-file.ts';
import { connectMqtt, getJson, logLine, postJson, written } from '../helpers/tls-procs.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-tls-'));
const pki = new TestPki(join(dir, 'pki'));
const ca = readFileSync(pki.ca);
const t = new Topics();
const TOKEN = 'push-token-for-tls-test';
const procs: Proc[] = [];
const clients: MqttClient[] = [];
const influx = new Influxd(join(dir, 'influxdb'));

let broker: Proc;
let ready: Ready;
let mqtts = '';
let wss = '';
let plain = '';

/** A client certificate as MQTT.js options, trusting the test CA. */
const withCert = (cn: string) => {
  const c = pki.client(cn);
  return { ca, cert: readFileSync(c.cert), key: readFileSync(c.key) };
};

/** A copy of the test server's certificate and key in `name`/, for a broker whose files a test renews. */
function certFiles(name: string): { cert: string; key: string } {
  const files = { cert: join(dir, name, 'broker.pem'), key: join(dir, name, 'broker.key') };
  mkdirSync(join(dir, name));
  copyFileSync(pki.server.cert, files.cert);
  copyFileSync(pki.server.key, files.key);
  return files;
}

/** A child `qingcheng` with `--ready-file`, and the ports it wrote there once listening. */
async function startReady(name: string, args: string[], env: Record<string, string> = {}) {
  const file = join(dir, `${name}-${procs.length}.ready.json`);
  const proc = new Proc(name, [...args, '--ready-file', file], env);
  procs.push(proc);
  return { proc, ready: await readyOf(proc, file) };
}

function startBroker(extra: string[] = [], server = pki.server) {
  return startReady('broker', [
    'broker',
    ...['--users', join(dir, 'users.yaml'), '--port', '0', '--health-port', '0', '--tls-port', '0', '--wss-port', '0'],
    ...['--tls-cert', server.cert, '--tls-key', server.key, '--tls-ca', pki.ca, ...extra],
  ]);
}

beforeAll(async () => {
  writeFileSync(join(dir, 'users.yaml'), stringify({ users: await makeUsers(['gw-a', 'gw-b']) }));
  const [started] = await Promise.all([startBroker(), influx.start()]);
  ({ proc: broker, ready } = started);
  mqtts = `mqtts://127.0.0.1:${portIn(ready, 'tls')}`;
  wss = `wss://127.0.0.1:${portIn(ready, 'wss')}/mqtt`;
  plain = `mqtt://127.0.0.1:${portIn(ready, 'mqtt')}`;
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  // The gateway publishes its offline status as it stops: the brokers go last.
  for (const p of procs.reverse()) await p.kill();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS and client certificates', () => {
  it('binds every listener to 127.0.0.1 unless told otherwise, and says so', async () => {
    expect(Object.keys(ready.ports).sort()).toEqual(['health', 'mqtt', 'tls', 'wss']);
    // What the start-up line tells the operator is itself under test here (the ports come from the ready file).
    const listening = await logLine(broker, 'broker listening');
    for (const key of ['mqtt', 'mqtts', 'wss', 'health']) expect(String(listening[key]), key).toContain('127.0.0.1:');
    expect(listening.client_certs).toBe('accepted');
    // Where the machine has another address, nothing answers the broker's ports on it.
    const other = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (other)
      for (const [name, port] of Object.entries(ready.ports)) {
        const refused = await new Promise<string>((resolve) => {
          const s = net.connect(port, other.address);
          s.once('connect', () => {
            resolve('connected');
            s.destroy();
          });
          s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
        expect(refused, name).toBe('ECONNREFUSED');
      }
  });

  it('takes pushes over HTTPS only with the token, and the gateway publishes them over mqtts with its certificate until acknowledged', async () => {
    const gwCert = pki.client('gw-a');
    const config = join(dir, 'gw-a.yaml');
    writeFileSync(
      config,
      stringify({
        gateway: { id: 'gw-a' },
        // No password: the certificate is the login.
        mqtt: { url: mqtts, ca: pki.ca, cert: gwCert.cert, key: gwCert.key, status_s: 1, republish_s: 2 },
        outbox: { path: join(dir, 'gw-a.outbox.sqlite') },
        links: [
          {
            name: 'push',
            type: 'http',
            listen: '127.0.0.1:0',
            token: TOKEN,
            tls: { cert: pki.server.cert, key: pki.server.key },
          },
        ],
        devices: [{ id: 'rsd-0001', kind: 'rsd', link: 'push' }],
      }),
    );
    // An operator follows the gateway's status over wss, with a password.
    const op = await connectMqtt(wss, { ca, username: 'operator', password: PASSWORDS.operator }, clients);
    let status: OnlineStatus | undefined;
    const acked = new Promise<OnlineStatus>((resolve) =>
      op.on('message', (_topic, payload) => {
        const s = decodeStatus(payload);
        if (s.state !== 'online') return;
        status = s;
        if (s.next_seq > 1 && s.acked === s.next_seq - 1 && s.outbox.depth === 0) resolve(s);
      }),
    );
    await op.subscribeAsync(t.status('gw-a'), { qos: 1 });

    // Ingest over mqtts with a password, trusting the test CA the way README "Security" says.
    const login = ['--mqtt', mqtts, '--username', 'ingest', '--password', PASSWORDS.ingest];
    const ingest = new Proc('ingest', ['ingest', ...login, '--flush-ms', '100', '--influx-url', influx.url], {
      NODE_EXTRA_CA_CERTS: pki.ca,
    });
    procs.push(ingest);
    const { proc: gw, ready: gwReady } = await startReady('gateway', [
      'gateway',
      '--config',
      config,
      '--metrics-port',
      '0',
    ]);
    // The link answers HTTPS only (postJson speaks TLS, trusting the test CA).
    const url = `https://127.0.0.1:${portIn(gwReady, 'push')}/records`;
    const metrics = `http://127.0.0.1:${portIn(gwReady, 'metrics')}/metrics`;

    const now = Date.now();
    const records = passes({ dev: 'rsd-0001', seed: 3 }, now - 600_000, now).slice(0, 20);
    expect(records.length).toBeGreaterThan(0);
    const none = await postJson(url, { records }, ca);
    expect(none.status).toBe(401);
    expect(none.body.error).toContain('Authorization: Bearer');
    const wrong = await postJson(url, { records }, ca, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toContain('wrong bearer token');
    const ok = await postJson(url, { records }, ca, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body.accepted).toBe(records.length);

    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`not acknowledged: ${JSON.stringify(status)}\n${gw.output.slice(-3000)}`)),
        15_000,
      ).unref(),
    );
    const s = await Promise.race([acked, timeout]);
    expect(s.next_seq).toBeGreaterThanOrEqual(records.length);
    expect(gw.output).toContain('"uplink connected"');
    expect(ingest.output).not.toContain('connection refused');
    const text = await (await fetch(metrics)).text();
    expect(text).toContain('qingcheng_gateway_http_unauthorized_total{gateway="gw-a",link="push"} 2');
  }, 30_000);

  it('refuses a certificate whose CN is no user, and one signed by another CA; a password still works', async () => {
    await expect(connectMqtt(mqtts, withCert('gw-nobody'), clients)).rejects.toThrow(/Not authorized/i);
    const stranger = new TestPki(join(dir, 'other-pki'), 'Some other CA').client('gw-a');
    await expect(
      connectMqtt(mqtts, { ca, cert: readFileSync(stranger.cert), key: readFileSync(stranger.key) }, clients),
    ).rejects.toThrow(/Not authorized/i);
    // That the broker's log explains each refusal is the behaviour under test, so this waits on its text.
    await written(broker, 'client certificate CN gw-nobody is not a user of this broker');
    await written(broker, 'client certificate not accepted');
    const op = await connectMqtt(mqtts, { ca, username: 'operator', password: PASSWORDS.operator }, clients);
    expect(op.connected).toBe(true);
    // Plain MQTT on the TLS port never gets to a login; the broker counts the failed handshake.
    const login = { username: 'operator', password: PASSWORDS.operator };
    await expect(connectMqtt(mqtts.replace('mqtts:', 'mqtt:'), login, clients)).rejects.toThrow();
    const health = (await (await fetch(`http://127.0.0.1:${portIn(ready, 'health')}/health`)).json()) as Record<
      string,
      number
    >;
    expect(health.refusedCert).toBe(2);
    expect(health.tlsHandshakeFailures).toBeGreaterThanOrEqual(1);
  });

  it("holds a gateway logged in by certificate to its own topics: gw-a's certificate cannot publish as gw-b", async () => {
    await expect(
      connectMqtt(mqtts, { ...withCert('gw-a'), clientId: 'gw-a', username: 'gw-b' }, clients),
    ).rejects.toThrow(/Not authorized/i);
    await expect(connectMqtt(mqtts, { ...withCert('gw-a'), clientId: 'gw-b' }, clients)).rejects.toThrow(
      /Not authorized/i,
    );
    const ingest = await connectMqtt(plain, { username: 'ingest', password: PASSWORDS.ingest }, clients);
    await ingest.subscribeAsync(t.up('gw-b'), { qos: 1 });
    const seen: string[] = [];
    ingest.on('message', (topic) => seen.push(topic));
    // Its own topic is fine; gw-b's closes the connection.
    const a = await connectMqtt(mqtts, { ...withCert('gw-a'), clientId: 'gw-a' }, clients);
    await a.publishAsync(t.status('gw-a'), '{"state":"offline"}', { qos: 1, retain: true });
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish(t.up('gw-b'), 'forged', { qos: 1 });
    await closed;
    const b = await connectMqtt(mqtts, { ...withCert('gw-b'), clientId: 'gw-b' }, clients);
    const got = new Promise<string>((r) => ingest.on('message', (_tp, p) => r(p.toString())));
    await b.publishAsync(t.up('gw-b'), 'genuine', { qos: 1 });
    expect(await got).toBe('genuine');
    expect(seen).toEqual([t.up('gw-b')]);
  });

  it('with --require-client-cert refuses a password alone, on every listener, and lets a certificate in', async () => {
    const { proc: strict, ready: at } = await startBroker(['--require-client-cert'], certFiles('strict'));
    const tlsAt = `mqtts://127.0.0.1:${portIn(at, 'tls')}`;
    const login = { username: 'operator', password: PASSWORDS.operator };
    await expect(connectMqtt(tlsAt, { ca, ...login }, clients)).rejects.toThrow(/Not authorized/i);
    await expect(connectMqtt(`mqtt://127.0.0.1:${portIn(at, 'mqtt')}`, login, clients)).rejects.toThrow(
      /Not authorized/i,
    );
    // The refusal explained in the broker's log is part of the behaviour under test.
    await written(strict, 'a client certificate is required');
    const op = await connectMqtt(tlsAt, withCert('operator'), clients);
    expect(op.connected).toBe(true);
  });

  it('reads its certificate again on SIGHUP: a client trusting only the new CA then gets in', async () => {
    const renewed = certFiles('renewed');
    const { proc: strict, ready: at } = await startBroker(['--require-client-cert'], renewed);
    const strictAt = `mqtts://127.0.0.1:${portIn(at, 'tls')}`;
    const next = new TestPki(join(dir, 'next-pki'), 'Next CA');
    const login = { ...withCert('operator'), ca: readFileSync(next.ca) };
    await expect(connectMqtt(strictAt, login, clients)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    copyFileSync(next.server.cert, renewed.cert);
    copyFileSync(next.server.key, renewed.key);
    strict.child.kill('SIGHUP');
    // The signal is handled in the broker's own time: the new certificate shows by a handshake that passes.
    let op: MqttClient | undefined;
    await waitFor(
      'a client trusting only the new CA to get in after SIGHUP',
      async () => !!(op = await connectMqtt(strictAt, login, clients)),
      10_000,
      200,
    );
    expect(op!.connected).toBe(true);
  });

  it('serves the console over HTTPS, on 127.0.0.1 unless told otherwise', async () => {
    const { ready: c } = await startReady('console', [
      'console',
      ...['--port', '0', '--ws', 'wss://127.0.0.1:1/mqtt', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key],
    ]);
    // getJson speaks HTTPS only, trusting the test CA.
    const url = `https://127.0.0.1:${portIn(c, 'http')}/`;
    const page = await getJson(`${url}config.json`, ca);
    expect(page).toMatchObject({ ws: 'wss://127.0.0.1:1/mqtt' });
  }, 40_000);

  it("README's openssl commands run as printed and make certificates a TLS server and client accept", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Security'));
    const script = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    expect(script).toContain('openssl req -x509');
    const at = join(dir, 'readme');
    mkdirSync(at);
    execFileSync('sh', ['-e', '-c', script], { cwd: at, stdio: 'pipe' });
    const certs = (f: string) => readFileSync(join(at, 'certs', f));
    const server = tls.createServer({
      cert: certs('broker.pem'),
      key: certs('broker.key'),
      ca: certs('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const peer = new Promise<string>((resolve) =>
      server.once('secureConnection', (s) => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.end();
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    const client = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'broker.example',
      ca: certs('ca.pem'),
      cert: certs('gw-saihan-01.pem'),
      key: certs('gw-saihan-01.key'),
    });
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('secureConnect', () => resolve());
      client.once('error', reject);
    });
    expect(client.authorized).toBe(true);
    expect(await peer).toBe('gw-saihan-01');
    client.destroy();
    server.close();
  });
});
