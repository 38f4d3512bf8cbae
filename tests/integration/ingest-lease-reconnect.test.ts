// A lease worker (`qingcheng ingest --leases`, a child process) that loses its connection to the broker
// while keeping its leases: its session is clean, so what its shards' gateways published while it was away
// went to nobody. Once back and subscribed it asks them to re-publish (a resend request, docs/protocol.md
// §5.1, §6.5), so the hole heals at once instead of after `republish_s`, set here to 10 minutes so that
// nothing else can explain it. The worker reaches the broker (a real Aedes) through a TCP relay the test
// cuts and restores; the gateway (its own uplink and outbox) stays connected, and influxd is real.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
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
import { Influxd } from '../helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../helpers/pipeline.ts';
import { RedisServer } from '../helpers/redis.ts';
import { expectSeqsOnce } from '../helpers/verify.ts';
import { waitFor } from '../helpers/wait.ts';

const SHARDS = 16;
const GW = 'gw-reconnect';
// Pinned sample times, before every date the suite runs on (workers keep the real clock).
const T0 = Date.UTC(2025, 11, 16, 2);

/** A TCP relay to the broker that the test can cut (every connection closed, new ones refused) and restore. */
class Relay {
  private open = true;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => {
    if (!this.open) return client.destroy();
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
  });
  constructor(private readonly target: number) {}
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }
  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }
  restore(): void {
    this.open = true;
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-reconnect-'));
const influx = new Influxd(join(dir, 'influxdb'));
const redis = new RedisServer(dir);
let broker: Broker;
let relay: Relay | undefined;
let op: MqttClient;
let uplink: Uplink | undefined;
let outbox: Outbox | undefined;
let worker: Proc | undefined;
let driving: NodeJS.Timeout | undefined;
/** The worker's latest retained state (there is one worker), and every state it published. */
let state: IngestState | undefined;
const history: IngestState[] = [];

beforeAll(async () => {
  await influx.start();
  await redis.start();
  broker = await new Broker({ port: 0, users: await makeUsers([GW]) }).start();
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (_topic, p) => {
    state = decodeIngestState(p);
    history.push(state);
  });
  await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
});

afterAll(async () => {
  clearInterval(driving);
  await uplink?.stop();
  outbox?.close();
  op?.end(true);
  await worker?.kill();
  await relay?.close();
  await broker?.stop();
  await redis.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const resends = () => (state?.state === 'running' ? (state.lease?.resends ?? 0) : 0);
const readsAll = () => state?.state === 'running' && state.shards.length === SHARDS;

describe('a lease worker that reconnects to the broker', () => {
  it(
    'asks the gateways of its shards to re-publish what it missed while away, every record stored once',
    { timeout: 120_000 },
    async () => {
      const fail = (e: Error) => {
        const o = outbox;
        const gw = o && uplink && `acked ${o.acked} of ${o.next}, uplink ${JSON.stringify(uplink.stats)}`;
        throw new Error(
          `${e.message}\ngateway ${GW}: ${gw}\nstates: ${JSON.stringify(history)}\nworker: ${worker?.output.slice(-8000)}`,
        );
      };
      relay = new Relay(broker.port);
      worker = ingestProc(
        await relay.listen(),
        ['--leases', redis.url, '--lease-ttl-ms', '2000', '--influx-url', influx.url, '--flush-ms', '50'],
        { realClock: true },
      );
      await waitFor('the worker to read all 16 shards', readsAll).catch(fail);

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
      // Up to the record appended next: at least one record, whatever was appended so far.
      const acked = (what: string) => {
        const mark = o.next;
        return waitFor(`every record up to seq ${mark} acknowledged ${what}`, () => o.acked >= mark).catch(fail);
      };
      await acked('before the cut');
      expect(resends()).toBe(0); // it took the shards before the gateway had a watermark

      // The worker's connection drops and stays down; the broker ends its (clean) session and publishes
      // its will. What the gateway publishes from then on is delivered to nobody.
      relay.cut();
      await waitFor('the worker to be offline', () => state?.state === 'offline').catch(fail);
      const before = u.stats.published;
      await waitFor('the gateway to publish while the worker is away', () => u.stats.published >= before + 10).catch(
        fail,
      );

      relay.restore();
      await waitFor('the worker to read all 16 shards again', readsAll).catch(fail);
      await acked('after the reconnect');
      expect(resends()).toBe(1); // one request, to the one gateway of its shards

      clearInterval(driving);
      await waitFor('every record acknowledged', () => o.acked === o.next - 1 && o.depth === 0).catch(fail);
      const rows = await influx.rows(`SELECT seq FROM air WHERE gw = '${GW}' AND time >= ${T0}ms`);
      expectSeqsOnce(
        rows.map((r) => Number(r.seq)),
        o.next,
        GW,
      );
      // The gateway re-published on request; its timer never fired.
      expect(u.stats.resends).toBe(1);
      expect(u.republishIntervalMs).toBe(600_000);
    },
  );
});
