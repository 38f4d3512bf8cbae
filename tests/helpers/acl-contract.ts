// The ACL contract: the logins and topic rights of docs/protocol.md §2.4 that any broker running the
// network must enforce, checked with real MQTT clients. tests/integration/security-mosquitto.test.ts runs
// it against our broker and against Mosquitto configured by `broker export --mosquitto`.
//
// Brokers refuse differently: ours closes the connection of a refused PUBLISH and answers a refused
// SUBSCRIBE with 0x80; Mosquitto acknowledges both and delivers nothing. So a right is "refused" when what
// was sent never reaches a reader, proven by a marker sent after it on a path that does arrive.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shardOf, Topics } from '../../protocol/topics.ts';
import { PASSWORDS } from './pipeline.ts';

export interface AclTarget {
  /** mqtt://host:port of a broker whose users are makeUsers(['gw-a', 'gw-b']). */
  url(): string;
}

const t = new Topics();

export function aclContract(name: string, start: () => Promise<AclTarget>, stop: () => Promise<void>): void {
  describe(`ACL contract: ${name}`, () => {
    let target: AclTarget;
    const clients: MqttClient[] = [];
    beforeAll(async () => {
      target = await start();
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.end(true);
    });
    afterAll(stop);

    function connect(opts: IClientOptions): Promise<MqttClient> {
      return new Promise((resolve, reject) => {
        const c = mqtt.connect(target.url(), { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
        clients.push(c);
        c.once('connect', () => resolve(c));
        c.once('error', reject);
        c.once('close', () => reject(new Error('closed before CONNACK')));
      });
    }
    const gateway = (gw: string) => connect({ clientId: gw, username: gw, password: PASSWORDS.gateway });
    const login = (role: 'ingest' | 'operator' | 'admin') => connect({ username: role, password: PASSWORDS[role] });

    /** Every topic `c` receives on `filter`, in order, from now on; retained ones only when asked. */
    async function reader(c: MqttClient, filter: string, retained = false): Promise<string[]> {
      const seen: string[] = [];
      c.on('message', (topic, _p, packet) => {
        if (retained || !packet.retain) seen.push(topic);
      });
      await c.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      return seen;
    }

    /** Publishes at QoS 1; resolves once the broker has acknowledged it or closed the connection for it. */
    function attempt(c: MqttClient, topic: string): Promise<void> {
      return new Promise((resolve) => {
        c.once('close', () => resolve());
        c.publish(topic, 'forged', { qos: 1 }, () => resolve());
      });
    }

    /** Waits until `seen` holds `marker`: whatever was routed before it to the same reader is in by then. */
    async function until(seen: string[], marker: string): Promise<void> {
      const end = Date.now() + 10_000;
      while (!seen.includes(marker)) {
        if (Date.now() > end) throw new Error(`${marker} never arrived; seen: ${seen.join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    it('refuses a wrong password and an unknown user', async () => {
      await expect(connect({ clientId: 'gw-a', username: 'gw-a', password: 'wrong' })).rejects.toThrow(
        /Bad username or password|Not authorized/i,
      );
      await expect(connect({ username: 'nobody', password: 'x' })).rejects.toThrow(
        /Bad username or password|Not authorized/i,
      );
      await expect(connect({})).rejects.toThrow(/Not authorized/i);
    });

    it('lets a gateway publish its own up/ and status/ topics', async () => {
      const ingest = await login('ingest');
      const ups = await reader(ingest, 'env/v1/up/+/+');
      const op = await login('operator');
      const statuses = await reader(op, t.status('gw-a'));
      const a = await gateway('gw-a');
      await a.publishAsync(t.up('gw-a'), 'hello', { qos: 1 });
      await a.publishAsync(t.status('gw-a'), '{"state":"online"}', { qos: 1 });
      await until(ups, t.up('gw-a'));
      await until(statuses, t.status('gw-a'));
    });

    it("does not pass on a gateway's publish on another gateway's topic, another shard, or ack/", async () => {
      const admin = await login('admin');
      const seen = await reader(admin, 'env/v1/#');
      const wrongShard = `env/v1/up/${(shardOf('gw-a') + 1) % 16}/gw-a`;
      for (const topic of [t.up('gw-b'), t.status('gw-b'), wrongShard, t.ack('gw-a')])
        await attempt(await gateway('gw-a'), topic);
      const b = await gateway('gw-b');
      await b.publishAsync(t.up('gw-b'), 'genuine', { qos: 1 });
      await until(seen, t.up('gw-b'));
      expect(seen).toEqual([t.up('gw-b')]);
    });

    it("does not hand a gateway another gateway's acknowledgements", async () => {
      const a = await gateway('gw-a');
      const acks = await reader(a, t.ack('gw-b'));
      await a.subscribeAsync('env/v1/ack/+', { qos: 1 }).catch(() => undefined);
      await a.subscribeAsync(t.ack('gw-a'), { qos: 1 });
      const ingest = await login('ingest');
      await ingest.publishAsync(t.ack('gw-b'), '{"acked":1}', { qos: 1, retain: true });
      await ingest.publishAsync(t.ack('gw-a'), '{"acked":2}', { qos: 1 });
      await until(acks, t.ack('gw-a'));
      expect(acks.filter((x) => x === t.ack('gw-b'))).toEqual([]);
      // Nor the retained one, to a subscriber that comes later.
      const later = await gateway('gw-a');
      const kept = await reader(later, t.ack('gw-b'), true);
      await later.subscribeAsync(t.ack('gw-a'), { qos: 1 });
      await ingest.publishAsync(t.ack('gw-a'), '{"acked":3}', { qos: 1 });
      await until(kept, t.ack('gw-a'));
      expect(kept.filter((x) => x === t.ack('gw-b'))).toEqual([]);
      await ingest.publishAsync(t.ack('gw-b'), '', { qos: 1, retain: true });
    });

    it('lets an operator read everything and publish nothing', async () => {
      const admin = await login('admin');
      const seen = await reader(admin, 'env/v1/#');
      const op = await login('operator');
      const opSeen = await reader(op, 'env/v1/#');
      for (const topic of [t.status('gw-a'), t.up('gw-a'), t.ack('gw-a')])
        await attempt(await login('operator'), topic);
      await admin.publishAsync('env/v1/live/air.station/marker', '{}', { qos: 1 });
      await until(seen, 'env/v1/live/air.station/marker');
      await until(opSeen, 'env/v1/live/air.station/marker');
      expect(seen).toEqual(['env/v1/live/air.station/marker']);
    });
  });
}
