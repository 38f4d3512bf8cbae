// Client ids belong to their user (docs/protocol.md §2.3–2.4): no login may take over, end or wipe another
// user's session, anonymous clients included; and a gateway may not leave a retained message on up/.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

const t = new Topics();
let broker: Broker;
let anon: Broker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  const users = await makeUsers(['gw-a', 'gw-b']);
  broker = await new Broker({ port: 0, users }).start();
  anon = await new Broker({ port: 0, users, allowAnonymous: true }).start();
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker.stop();
  await anon.stop();
});

function connect(opts: IClientOptions, port = broker.port): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 4,
      ...opts,
    });
    clients.push(c);
    c.once('connect', (connack) => resolve(Object.assign(c, { sessionPresent: connack.sessionPresent })));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const gateway = (id: string, port = broker.port) =>
  connect({ clientId: id, username: id, password: PASSWORDS.gateway }, port);

/** Whether `c` is still connected: a round trip through the broker (publish, or subscribe for a reader), raced against its close. */
async function stillConnected(c: MqttClient, topic?: string): Promise<boolean> {
  if (!c.connected) return false;
  const closed = new Promise<boolean>((r) => c.once('close', () => r(false)));
  const trip = topic
    ? c.publishAsync(topic, '{"state":"online"}', { qos: 1 })
    : c.subscribeAsync('env/v1/status/+', { qos: 1 });
  return Promise.race([trip.then(() => true), closed]);
}

describe('client ids belong to their user', () => {
  it("refuses an operator that connects with a gateway's client id, and the gateway stays connected", async () => {
    const gw = await gateway('gw-a');
    const before = broker.stats.refusedClientId;
    await expect(connect({ clientId: 'gw-a', username: 'operator', password: PASSWORDS.operator })).rejects.toThrow(
      /Not authorized/i,
    );
    await expect(connect({ clientId: 'gw-a', username: 'ingest', password: PASSWORDS.ingest })).rejects.toThrow(
      /Not authorized/i,
    );
    await expect(connect({ clientId: 'gw-a', username: 'admin', password: PASSWORDS.admin })).rejects.toThrow(
      /Not authorized/i,
    );
    expect(await stillConnected(gw, t.status('gw-a'))).toBe(true);
    expect(broker.stats.refusedClientId - before).toBe(3);
    await gw.endAsync();
  });

  it("keeps ingest's persistent session and its queued messages from a clean login under its client id", async () => {
    const ingest = await connect({
      clientId: 'ingest-w',
      clean: false,
      username: 'ingest',
      password: PASSWORDS.ingest,
    });
    await ingest.subscribeAsync(t.up('gw-b'), { qos: 1 });
    await ingest.endAsync();
    const gw = await gateway('gw-b');
    await gw.publishAsync(t.up('gw-b'), 'queued while away', { qos: 1 });
    await gw.endAsync();
    for (const [username, password] of [
      ['operator', PASSWORDS.operator],
      ['admin', PASSWORDS.admin],
      ['gw-b', PASSWORDS.gateway],
    ] as const)
      await expect(connect({ clientId: 'ingest-w', clean: true, username, password })).rejects.toThrow(
        /Not authorized/i,
      );
    const back = await connect({ clientId: 'ingest-w', clean: false, username: 'ingest', password: PASSWORDS.ingest });
    const got = new Promise<string>((r) => back.on('message', (_t, p) => r(p.toString())));
    expect((back as MqttClient & { sessionPresent: boolean }).sessionPresent).toBe(true);
    expect(await got).toBe('queued while away');
    await back.endAsync();
  });

  it("accepts the ids the project's own processes use, and any id a user's namespace does not hold", async () => {
    for (const clientId of ['ingest', 'ingest-0-of-1', 'ingest-0-of-1-restore'])
      (await connect({ clientId, username: 'ingest', password: PASSWORDS.ingest })).end(true);
    // console and watch let MQTT.js pick an id (mqttjs_…); such ids are kept apart per user
    (await connect({ username: 'operator', password: PASSWORDS.operator })).end(true);
    (await connect({ clientId: 'operator-console', username: 'operator', password: PASSWORDS.operator })).end(true);
    await expect(connect({ clientId: 'operator-1', username: 'ingest', password: PASSWORDS.ingest })).rejects.toThrow(
      /Not authorized/i,
    );
  });

  it('does not let two users share an id outside every namespace: each keeps its own session', async () => {
    const a = await connect({ clientId: 'shared', username: 'operator', password: PASSWORDS.operator });
    const b = await connect({ clientId: 'shared', username: 'ingest', password: PASSWORDS.ingest });
    expect(await stillConnected(b, t.ack('gw-a'))).toBe(true);
    expect(await stillConnected(a)).toBe(true);
  });

  it("does not let an anonymous client take a gateway's session (--allow-anonymous)", async () => {
    const gw = await gateway('gw-a', anon.port);
    await expect(connect({ clientId: 'gw-a' }, anon.port)).rejects.toThrow(/Not authorized/i);
    const a = await connect({ clientId: 'viewer' }, anon.port);
    expect(await stillConnected(gw, t.status('gw-a'))).toBe(true);
    expect(await stillConnected(a)).toBe(true);
    await gw.endAsync();
  });
});

describe('retained messages on up/', () => {
  it('disconnects a gateway that publishes a retained envelope, and nothing is retained', async () => {
    const before = broker.stats.deniedRetain;
    const gw = await gateway('gw-a');
    const closed = new Promise<string>((r) => gw.once('close', () => r('closed')));
    const outcome = await Promise.race([
      gw.publishAsync(t.up('gw-a'), 'retained envelope', { qos: 1, retain: true }).then(() => 'acknowledged'),
      closed,
    ]);
    expect(outcome).toBe('closed');
    expect(broker.stats.deniedRetain - before).toBe(1);
    // A new subscriber gets retained messages before its own round trip comes back.
    const ingest = await connect({ username: 'ingest', password: PASSWORDS.ingest });
    const seen: string[] = [];
    ingest.on('message', (topic) => seen.push(topic));
    await ingest.subscribeAsync([t.up('gw-a'), t.ack('gw-probe')], { qos: 1 });
    const probe = new Promise<void>((r) => ingest.on('message', (topic) => topic === t.ack('gw-probe') && r()));
    await ingest.publishAsync(t.ack('gw-probe'), 'probe', { qos: 1 });
    await probe;
    expect(seen).toEqual([t.ack('gw-probe')]);
  });

  it('still lets a gateway retain its status', async () => {
    const gw = await gateway('gw-b');
    await gw.publishAsync(t.status('gw-b'), '{"state":"online"}', { qos: 1, retain: true });
    expect(gw.connected).toBe(true);
    await gw.endAsync();
  });
});
