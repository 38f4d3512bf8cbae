// A shard moving between lease workers while its gateway publishes (`qingcheng ingest --leases`, child
// processes, a real Aedes broker on Redis, a real influxd, the gateway's own uplink and outbox): what the
// gateway published while nobody read the shard comes back at once on the new owner's resend request
// (docs/protocol.md §5.1), not after `republish_s`, set here to 10 minutes so that nothing else can
// explain it. The shard moves twice: when a second worker joins (rebalancing), and when its holder is
// killed with SIGKILL. Every record is then acknowledged and stored once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { Outbox } from '../../gateway/outbox.ts';
import { Uplink } from '../../gateway/uplink.ts';
import { Node } from '../../protocol/config.ts';
import { decodeIngestState, type IngestState } from '../../protocol/messages.ts';
import { shardOf } from '../../protocol/topics.ts';
import { Influxd } from '../helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../helpers/pipeline.ts';
import { RedisServer } from '../helpers/redis.ts';
import { expectSeqsOnce } from '../helpers/verify.ts';
import { waitFor } from '../helpers/wait.ts';

const SHARDS = 16;
const GW = 'gw-resend';
// Pinned sample times, before every date the suite runs on (workers keep the real clock).
const T0 = Date.UTC(2025, 11, 15, 2);

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-resend-'));
const influx = new Influxd(join(dir, 'influxdb'));
const redis = new RedisServer(dir);
let broker: Broker;
let op: MqttClient;
let uplink: Uplink | undefined;
let outbox: Outbox | undefined;
let driving: NodeJS.Timeout | undefined;

/** Each worker's latest retained state, by client id; and the order the client ids appeared in. */
const states = new Map<string, IngestState>();
const clients: string[] = [];
const workers: Proc[] = [];

function startWorker(): Proc {
  const p = ingestProc(
    broker.port,
    ['--leases', redis.url, '--lease-ttl-ms', '2000', '--influx-url', influx.url, '--flush-ms', '50'],
    { realClock: true },
  );
  workers.push(p);
  return p;
}

const shardsOf = (id: string): number[] => {
  const s = states.get(id);
  return s?.state === 'running' ? s.shards : [];
};
const everyShardOnce = (ids: string[]) => {
  const s = ids.flatMap(shardsOf).sort((a, b) => a - b);
  return s.length === SHARDS && s.every((x, i) => x === i);
};

beforeAll(async () => {
  await influx.start();
  await redis.start();
  broker = await new Broker({ port: 0, users: await makeUsers([GW]), redis: redis.url }).start();
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (topic, p) => {
    const id = topic.split('/')[4]!;
    if (!states.has(id)) clients.push(id);
    states.set(id, decodeIngestState(p));
  });
  await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
});

afterAll(async () => {
  clearInterval(driving);
  await uplink?.stop();
  outbox?.close();
  op?.end(true);
  for (const w of workers) await w.kill();
  await broker?.stop();
  await redis.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a shard moving between lease workers', () => {
  it(
    "is read again from its gateway's resend at once, every record stored once, with republish_s at 10 minutes",
    { timeout: 180_000 },
    async () => {
      const fail = (e: Error) => {
        const o = outbox;
        const gw = o && uplink && `acked ${o.acked} of ${o.next}, uplink ${JSON.stringify(uplink.stats)}`;
        const tail = workers.map((w, i) => `worker ${i}: ${w.output.slice(-8000)}`).join('\n');
        throw new Error(`${e.message}\ngateway ${GW} (shard ${shardOf(GW, SHARDS)}): ${gw}\n${tail}`);
      };
      startWorker();
      await waitFor('the first worker to read all 16 shards', () => clients.length === 1 && everyShardOnce(clients));

      const cfg = parseGatewayConfig(
        new Node(join(dir, 'gw.yaml'), '', {
          gateway: { id: GW },
          mqtt: {
            url: `mqtt://127.0.0.1:${broker.port}`,
            password: PASSWORDS.gateway,
            republish_s: 600,
            batch_max: 5,
          },
          outbox: { path: join(dir, 'outbox.sqlite') },
          links: [{ name: 'push', type: 'http', listen: '127.0.0.1:0', token: 'push-token' }],
          devices: [{ id: 'aq-1', kind: 'air.micro', link: 'push' }],
        }),
      );
      const o = (outbox = new Outbox(cfg.outbox.path));
      const u = (uplink = new Uplink(cfg, o));
      u.start();
      // One record every 100 ms, published at once, as a gateway whose devices keep sampling.
      let n = 0;
      driving = setInterval(() => {
        o.append([{ dev: 'aq-1', kind: 'air.micro', ts: T0 + n * 1000, m: { pm25: n % 500 } }]);
        n++;
        u.pump();
      }, 100);
      const acked = (what: string) => {
        const mark = o.next;
        return waitFor(`every record up to seq ${mark - 1} acknowledged ${what}`, () => o.acked >= mark - 1).catch(
          fail,
        );
      };
      await acked('by the first worker');

      // A second worker joins: the first gives back half of the shards, the second takes them.
      startWorker();
      await waitFor(
        'two workers to share the shards',
        () => clients.length === 2 && everyShardOnce(clients) && clients.every((id) => shardsOf(id).length > 0),
      ).catch(fail);
      await acked('after the rebalancing');

      // The worker reading the gateway's shard dies; the other takes it once its lease expires.
      const victim = clients.findIndex((id) => shardsOf(id).includes(shardOf(GW, SHARDS)));
      const survivor = clients[1 - victim]!;
      await workers[victim]!.kill('SIGKILL');
      await waitFor('the killed worker to be offline', () => states.get(clients[victim]!)?.state === 'offline').catch(
        fail,
      );
      await waitFor('the other worker to read all 16 shards', () => everyShardOnce([survivor])).catch(fail);
      await acked('by the new owner');

      clearInterval(driving);
      await waitFor('every record acknowledged', () => o.acked === o.next - 1 && o.depth === 0).catch(fail);
      const rows = await influx.rows(`SELECT seq FROM air WHERE gw = '${GW}' AND time >= ${T0}ms`);
      expectSeqsOnce(
        rows.map((r) => Number(r.seq)),
        o.next,
        GW,
      );
      // The new owner asked, the gateway re-published on request, and its timer never fired.
      const st = states.get(survivor);
      expect(st?.state === 'running' ? st.lease?.resends : undefined).toBeGreaterThan(0);
      expect(u.stats.resends).toBeGreaterThan(0);
      expect(u.republishIntervalMs).toBe(600_000);
    },
  );
});
