// The broker with its state in Redis (real redis-server): a restart keeps retained messages and an
// offline client's queued QoS 1 messages, and two brokers on one Redis serve one network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { freePort, waitFor } from '../helpers/wait.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { RedisServer } from '../helpers/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-redis-'));
const redis = new RedisServer(dir);
const t = new Topics();
let users: Awaited<ReturnType<typeof makeUsers>>;
beforeAll(async () => {
  await redis.start();
  users = await makeUsers(['gw-r1']);
});
afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

const client = (port: number, username: string, password: string, clientId: string, clean = true) =>
  mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username,
    password,
    clientId,
    clean,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });

describe('broker state in Redis', () => {
  it("keeps retained messages and an offline session's queued QoS 1 messages across a broker restart", async () => {
    let broker = await new Broker({ port: 0, users, redis: redis.url }).start();
    const port = broker.port; // the restart below takes the same one
    // An ingest-like persistent session subscribes, then goes away.
    const ingest = await client(port, 'ingest', PASSWORDS.ingest, 'ingest-r', false);
    await ingest.subscribeAsync(t.up('gw-r1'), { qos: 1 });
    await ingest.publishAsync(t.ack('gw-r1'), '{"ep":"e","seq":41}', { qos: 1, retain: true });
    await ingest.endAsync();
    const gw = await client(port, 'gw-r1', PASSWORDS.gateway, 'gw-r1');
    for (let i = 0; i < 50; i++) await gw.publishAsync(t.up('gw-r1'), `envelope ${i}`, { qos: 1 });
    await gw.endAsync();
    await broker.stop();

    broker = await new Broker({ port, users, redis: redis.url }).start();
    try {
      const got: string[] = [];
      const back = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'ingest',
        password: PASSWORDS.ingest,
        clientId: 'ingest-r',
        clean: false,
        reconnectPeriod: 0,
        protocolVersion: 4,
      });
      back.on('message', (_t, p) => got.push(p.toString()));
      await waitFor('the 50 queued envelopes', () => got.length >= 50, 15_000);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `envelope ${i}`));
      await back.endAsync();
      const op = await client(port, 'operator', PASSWORDS.operator, 'op-r');
      const retained = new Promise<string>((r) => op.on('message', (_t, p) => r(p.toString())));
      await op.subscribeAsync(t.ack('gw-r1'), { qos: 1 });
      expect(await retained).toBe('{"ep":"e","seq":41}');
      await op.endAsync();
    } finally {
      await broker.stop();
    }
  });

  it("answers a persistent session's SUBSCRIBE of several topics (an ingest worker subscribes to 17 at once)", async () => {
    const broker = await new Broker({ port: 0, users, redis: redis.url }).start();
    try {
      const c = await client(broker.port, 'ingest', PASSWORDS.ingest, 'ingest-many', false);
      const topics = Array.from({ length: 16 }, (_, s) => t.upShard(s));
      const granted = await c.subscribeAsync(
        Object.fromEntries([...topics, 'env/v1/ack/+'].map((x) => [x, { qos: 1 as const }])),
      );
      expect(granted.map((g) => g.qos)).toEqual(Array(17).fill(1));
      await c.endAsync();
    } finally {
      await broker.stop();
    }
  });

  it('two brokers on one Redis: a message published on one reaches a subscriber of the other', async () => {
    const a = await new Broker({ port: 0, users, redis: redis.url }).start();
    const b = await new Broker({ port: 0, users, redis: redis.url }).start();
    try {
      const op = await client(a.port, 'operator', PASSWORDS.operator, 'op-a');
      const got = new Promise<string>((r) => op.on('message', (_t, p) => r(p.toString())));
      await op.subscribeAsync(t.live('air.micro', 'aq-1'), { qos: 1 });
      const ingest = await client(b.port, 'ingest', PASSWORDS.ingest, 'ingest-b');
      await ingest.publishAsync(t.live('air.micro', 'aq-1'), 'from b', { qos: 1 });
      expect(await got).toBe('from b');
      await op.endAsync();
      await ingest.endAsync();
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('refuses to start without a reachable Redis, saying how to fix it', async () => {
    const port = await freePort(); // a port nothing listens on: the unreachable Redis under test
    await expect(new Broker({ port: 0, users, redis: `redis://127.0.0.1:${port}` }).start()).rejects.toThrow(
      `cannot reach Redis at redis://127.0.0.1:${port}`,
    );
    await expect(new Broker({ port: 0, users, redis: 'http://x' }).start()).rejects.toThrow(
      '--redis: expected a redis:// URL',
    );
  });
});
