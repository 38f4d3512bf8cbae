// The broker's authentication and ACL (docs/protocol.md §2.4), against real MQTT clients.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { shardOf, Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

let broker: Broker;
let anon: Broker;
const t = new Topics();
const url = () => `mqtt://127.0.0.1:${broker.port}`;
const clients: MqttClient[] = [];

function connect(opts: IClientOptions, at = url()): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(at, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Subscribes and returns the granted QoS (128 = refused). */
function subscribe(c: MqttClient, topic: string): Promise<number> {
  return new Promise((resolve) =>
    c.subscribe(topic, { qos: 1 }, (err, granted) => {
      // MQTT.js reports a refused subscription (SUBACK 0x80) as an error.
      resolve(err ? 128 : granted![0]!.qos);
    }),
  );
}

/** Resolves with the first message on `topic`. */
function nextMessage(c: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) =>
    c.on('message', (tp, p) => {
      if (tp === topic) resolve(p.toString());
    }),
  );
}

beforeAll(async () => {
  const users = await makeUsers(['gw-a', 'gw-b']);
  broker = await new Broker({ port: 0, healthPort: 0, users }).start();
  anon = await new Broker({ port: 0, users, allowAnonymous: true }).start();
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker.stop();
  await anon.stop();
});

describe('broker authentication', () => {
  it('refuses a wrong password and an unknown user', async () => {
    await expect(connect({ clientId: 'gw-a', username: 'gw-a', password: 'wrong' })).rejects.toThrow(
      /Bad username or password/i,
    );
    await expect(connect({ username: 'nobody', password: 'x' })).rejects.toThrow(/Bad username or password/i);
  });

  it('refuses anonymous clients unless started with allowAnonymous, and then only lets them read', async () => {
    await expect(connect({})).rejects.toThrow(/Not authorized/i);
    const a = await connect({}, `mqtt://127.0.0.1:${anon.port}`);
    expect(await subscribe(a, 'env/v1/#')).toBe(1);
  });

  it('makes a gateway connect under its own client id, so nobody can take over its session', async () => {
    await expect(connect({ clientId: 'gw-b', username: 'gw-a', password: PASSWORDS.gateway })).rejects.toThrow(
      /Not authorized/i,
    );
  });

  it('reports health over HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${broker.healthPort}/health`);
    const body = (await res.json()) as { status: string; refused: number };
    expect(body.status).toBe('ok');
    expect(body.refused).toBeGreaterThan(0);
  });
});

describe('broker ACL', () => {
  it('lets gateway A publish its own up and status topics', async () => {
    const ingest = await connect({ username: 'ingest', password: PASSWORDS.ingest });
    expect(await subscribe(ingest, 'env/v1/up/+/+')).toBe(1);
    const op = await connect({ username: 'operator', password: PASSWORDS.operator });
    expect(await subscribe(op, t.status('gw-a'))).toBe(1);
    const a = await connect({ clientId: 'gw-a', username: 'gw-a', password: PASSWORDS.gateway });
    const up = nextMessage(ingest, t.up('gw-a'));
    const status = nextMessage(op, t.status('gw-a'));
    await a.publishAsync(t.up('gw-a'), 'hello', { qos: 1 });
    await a.publishAsync(t.status('gw-a'), '{"state":"online"}', { qos: 1 });
    expect(await up).toBe('hello');
    expect(await status).toBe('{"state":"online"}');
  });

  it('does not let gateway A publish as gateway B (the broker drops A)', async () => {
    const ingest = await connect({ username: 'ingest', password: PASSWORDS.ingest });
    await subscribe(ingest, 'env/v1/up/+/+');
    const seen: string[] = [];
    ingest.on('message', (tp) => seen.push(tp));
    const a = await connect({ clientId: 'gw-a', username: 'gw-a', password: PASSWORDS.gateway });
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish(t.up('gw-b'), 'forged', { qos: 1 });
    await closed;
    // A message published after the forgery is seen, the forgery is not.
    const b = await connect({ clientId: 'gw-b', username: 'gw-b', password: PASSWORDS.gateway });
    const got = nextMessage(ingest, t.up('gw-b'));
    await b.publishAsync(t.up('gw-b'), 'genuine', { qos: 1 });
    expect(await got).toBe('genuine');
    expect(seen.filter((x) => x === t.up('gw-b'))).toHaveLength(1);
  });

  it('does not let a gateway publish on the wrong shard or on ack/', async () => {
    const wrongShard = `env/v1/up/${(shardOf('gw-a') + 1) % 16}/gw-a`;
    for (const topic of [wrongShard, t.ack('gw-a')]) {
      const a = await connect({ clientId: 'gw-a', username: 'gw-a', password: PASSWORDS.gateway });
      const closed = new Promise<void>((r) => a.once('close', () => r()));
      a.publish(topic, 'x', { qos: 1 });
      await closed;
    }
  });

  it("does not let gateway A read gateway B's acknowledgements", async () => {
    const a = await connect({ clientId: 'gw-a', username: 'gw-a', password: PASSWORDS.gateway });
    expect(await subscribe(a, t.ack('gw-b'))).toBe(128);
    expect(await subscribe(a, 'env/v1/ack/+')).toBe(128);
    expect(await subscribe(a, t.ack('gw-a'))).toBe(1);
  });

  it('lets an operator read everything and publish nothing', async () => {
    const op = await connect({ username: 'operator', password: PASSWORDS.operator });
    expect(await subscribe(op, 'env/v1/#')).toBe(1);
    const closed = new Promise<void>((r) => op.once('close', () => r()));
    op.publish(t.status('gw-a'), '{"state":"forged"}', { qos: 1 });
    await closed;
    expect(broker.stats.deniedPublish).toBeGreaterThan(0);
  });
});
