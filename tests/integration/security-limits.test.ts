// The broker's limits against abuse (docs/protocol.md §2.4): packet sizes before and after login, connection
// attempts per address, subscriptions per client, topic and filter lengths, each counted in /health.
// Huge packets are only announced: a client sends the fixed header and some bytes, never the whole packet.
import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { connectPacket, frame, publishPacket } from '../helpers/mqtt-bytes.ts';

const t = new Topics();
const MiB = 1 << 20;
let broker: Broker;
const clients: MqttClient[] = [];
const sockets: net.Socket[] = [];

beforeAll(async () => {
  broker = await new Broker({ port: 0, healthPort: 0, users: await makeUsers(['gw-a', 'gw-b']) }).start();
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const s of sockets) s.destroy();
  await broker.stop();
});

function connect(opts: IClientOptions, port = broker.port): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** A raw TCP connection to the broker. */
function rawSocket(port = broker.port): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    sockets.push(s);
    s.on('error', () => undefined); // a reset by the broker is what some tests expect
    s.once('error', reject);
  });
}

/** Resolves when the broker closes `s`; rejects after `ms` (the broker keeps a pending CONNECT for 30 s). */
function closedWithin(s: net.Socket, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`the broker kept the connection open for ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves with the first bytes the broker sends (a CONNACK after a CONNECT). */
const firstBytes = (s: net.Socket) => new Promise<Buffer>((r) => s.once('data', r));

async function ingestSubscriber(): Promise<{ c: MqttClient; got: string[] }> {
  const c = await connect({ username: 'ingest', password: PASSWORDS.ingest });
  const got: string[] = [];
  c.on('message', (topic, p) => got.push(`${topic} ${p.length}`));
  await c.subscribeAsync('env/v1/up/+/+', { qos: 1 });
  return { c, got };
}

describe('packet size before login', () => {
  it('closes connections that announce a 250 MB CONNECT, at the header, and counts them', async () => {
    const before = broker.stats.oversizePackets;
    const huge = frame(0x10, Buffer.alloc(64 * 1024, 0x41), 250 * 1000 * 1000);
    const conns = await Promise.all(Array.from({ length: 6 }, () => rawSocket()));
    for (const s of conns) s.write(huge);
    await Promise.all(conns.map((s) => closedWithin(s)));
    expect(broker.stats.oversizePackets - before).toBe(6);
  });

  it('closes a CONNECT over 4 KiB even from a known user (a will is part of it)', async () => {
    const s = await rawSocket();
    s.write(frame(0x10, Buffer.alloc(100), 5000));
    await closedWithin(s);
  });
});

describe('packet size after login, per role', () => {
  it('closes a gateway announcing a 100 MB publish before it is buffered, and ingest never sees it', async () => {
    const { got } = await ingestSubscriber();
    const before = broker.stats.oversizePackets;
    const s = await rawSocket();
    const connack = firstBytes(s);
    s.write(connectPacket('gw-a', 'gw-a', PASSWORDS.gateway));
    expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
    s.write(publishPacket(t.up('gw-a'), Buffer.alloc(64 * 1024, 0x41), 100 * MiB));
    await closedWithin(s);
    expect(broker.stats.oversizePackets - before).toBe(1);
    expect(got).toEqual([]);
  });

  it('passes a gateway envelope of the full 1 MiB contract', async () => {
    const { c, got } = await ingestSubscriber();
    const gw = await connect({ clientId: 'gw-a', username: 'gw-a', password: PASSWORDS.gateway });
    const arrived = new Promise<void>((r) => c.on('message', () => r()));
    await gw.publishAsync(t.up('gw-a'), Buffer.alloc(MiB, 0x41), { qos: 1 });
    await arrived;
    expect(got).toEqual([`${t.up('gw-a')} ${MiB}`]);
    await gw.endAsync();
  });

  it('judges a PUBLISH sent right behind the CONNECT by the role, once the login is decided', async () => {
    const { c, got } = await ingestSubscriber();
    const arrived = new Promise<void>((r) => c.on('message', () => r()));
    const s = await rawSocket();
    s.write(
      Buffer.concat([
        connectPacket('gw-b', 'gw-b', PASSWORDS.gateway),
        publishPacket(t.up('gw-b'), Buffer.alloc(500 * 1024, 0x42)),
      ]),
    );
    await arrived;
    expect(got).toEqual([`${t.up('gw-b')} ${500 * 1024}`]);
    s.destroy();
  });

  it('closes an operator announcing a 64 KiB SUBSCRIBE (operators only read)', async () => {
    const before = broker.stats.oversizePackets;
    const s = await rawSocket();
    const connack = firstBytes(s);
    s.write(connectPacket('operator-x', 'operator', PASSWORDS.operator));
    expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
    s.write(frame(0x82, Buffer.alloc(1024, 0x41), 64 * 1024));
    await closedWithin(s);
    expect(broker.stats.oversizePackets - before).toBe(1);
  });
});

describe('topics and subscriptions', () => {
  const long = `env/v1/live/air.station/${'x'.repeat(300)}`;

  it('refuses a filter over the length limit (SUBACK 0x80) and counts it', async () => {
    const before = broker.stats.longTopics;
    const op = await connect({ username: 'operator', password: PASSWORDS.operator });
    await expect(op.subscribeAsync(long, { qos: 1 })).rejects.toThrow();
    expect(broker.stats.longTopics - before).toBe(1);
    const [ok] = await op.subscribeAsync('env/v1/status/+', { qos: 1 });
    expect(ok!.qos).toBe(1);
  });

  it('closes a client publishing on a topic over the length limit, even an admin', async () => {
    const before = broker.stats.longTopics;
    const admin = await connect({ username: 'admin', password: PASSWORDS.admin });
    const closed = new Promise<string>((r) => admin.once('close', () => r('closed')));
    const outcome = await Promise.race([admin.publishAsync(long, 'x', { qos: 1 }).then(() => 'acknowledged'), closed]);
    expect(outcome).toBe('closed');
    expect(broker.stats.longTopics - before).toBe(1);
  });

  it('refuses subscriptions past the per-client maximum, and counts a filter once', async () => {
    const small = await new Broker({ port: 0, users: await makeUsers([]), limits: { maxSubscriptions: 3 } }).start();
    try {
      const op = await connect({ username: 'operator', password: PASSWORDS.operator }, small.port);
      const granted = async (f: string) => {
        try {
          return (await op.subscribeAsync(f, { qos: 1 }))[0]!.qos;
        } catch {
          return 128;
        }
      };
      expect([await granted('a/1'), await granted('a/2'), await granted('a/3')]).toEqual([1, 1, 1]);
      expect(await granted('a/4')).toBe(128);
      expect(await granted('a/1')).toBe(1); // the same filter again is no new subscription
      await op.unsubscribeAsync('a/2');
      expect(await granted('a/4')).toBe(1);
      expect(small.stats.tooManySubscriptions).toBe(1);
    } finally {
      await small.stop();
    }
  });
});

describe('connection attempts per address', () => {
  it('refuses connections past the burst of the per-address bucket, and counts them', async () => {
    const small = await new Broker({
      port: 0,
      users: await makeUsers([]),
      limits: { connectBurst: 3, connectPerSecond: 0.001 },
    }).start();
    try {
      for (let i = 0; i < 3; i++) await connect({ username: 'operator', password: PASSWORDS.operator }, small.port);
      await expect(connect({ username: 'operator', password: PASSWORDS.operator }, small.port)).rejects.toThrow();
      const s = await rawSocket(small.port);
      await closedWithin(s);
      expect(small.stats.refusedRate).toBe(2);
    } finally {
      await small.stop();
    }
  });
});

describe('health', () => {
  it('reports every kind of rejection', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${broker.healthPort}/health`)).json()) as Record<string, number>;
    for (const k of [
      'refused',
      'deniedPublish',
      'deniedSubscribe',
      'deniedRetain',
      'oversizePackets',
      'malformedPackets',
      'refusedRate',
      'refusedClientId',
      'tooManySubscriptions',
      'longTopics',
      'loginDelays',
    ])
      expect(body[k], k).toBeTypeOf('number');
    expect(body.oversizePackets).toBeGreaterThanOrEqual(8);
    expect(body.longTopics).toBeGreaterThanOrEqual(2);
  });
});
