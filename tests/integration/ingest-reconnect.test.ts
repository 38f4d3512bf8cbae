// An ingest worker (`qingcheng ingest`, a child process) that loses its connection to the broker and gets it
// back, while its gateway (its own uplink and outbox) goes on publishing. A lease worker keeps its leases
// but its session is clean, so what its shards' gateways published while it was away went to nobody: once
// back and subscribed it asks them to re-publish (a resend request, docs/protocol.md §5.1, §6.5). A static
// worker's session is persistent: the broker kept those messages for it, and it asks nothing. Either way
// the hole heals at once, not after `republish_s`, set here to 10 minutes so that nothing else can explain
// it. The worker reaches the broker (a real Aedes) through a TCP relay the test cuts and restores; influxd
// is real.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
let op: MqttClient;
/** What each test started, stopped after it. */
let relay: Relay | undefined;
let uplink: Uplink | undefined;
let outbox: Outbox | undefined;
let worker: Proc | undefined;
let driving: NodeJS.Timeout | undefined;
/** Each worker's latest retained state by client id, and every state published. */
const states = new Map<string, IngestState>();
const history: [string, IngestState][] = [];

beforeAll(async () => {
  await influx.start();
  await redis.start();
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-reconnect-lease', 'gw-reconnect-static']) }).start();
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (topic, p) => {
    const id = topic.split('/')[4]!;
    states.set(id, decodeIngestState(p));
    history.push([id, states.get(id)!]);
  });
  await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
});

async function stopTest(): Promise<void> {
  clearInterval(driving);
  await uplink?.stop();
  outbox?.close();
  await worker?.kill();
  await relay?.close();
  uplink = outbox = worker = relay = undefined;
}

afterEach(stopTest);

afterAll(async () => {
  await stopTest();
  op?.end(true);
  await broker?.stop();
  await redis.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts a worker with `args` behind a relay and a gateway publishing a record every 100 ms; once both
 * work, cuts the worker off until the gateway has published records it cannot see, then lets it back.
 * Returns when every record is acknowledged and checked stored once.
 */
async function reconnect(gw: string, args: string[], isOurs: (clientId: string) => boolean) {
  const ours = () => [...states].find(([id]) => isOurs(id))?.[1];
  const readsAll = () => {
    const st = ours();
    return st?.state === 'running' && st.shards.length === SHARDS;
  };
  const fail = (e: Error) => {
    const o = outbox;
    const g = o && uplink && `acked ${o.acked} of ${o.next}, uplink ${JSON.stringify(uplink.stats)}`;
    throw new Error(
      `${e.message}\ngateway ${gw}: ${g}\nstates: ${JSON.stringify(history)}\nworker: ${worker?.output.slice(-8000)}`,
    );
  };
  const r = (relay = new Relay(broker.port));
  worker = ingestProc(await r.listen(), [...args, '--influx-url', influx.url, '--flush-ms', '50'], {
    realClock: true,
  });
  await waitFor('the worker to read all 16 shards', readsAll).catch(fail);

  const cfg = parseGatewayConfig(
    new Node(join(dir, `${gw}.yaml`), '', {
      gateway: { id: gw },
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, password: PASSWORDS.gateway, republish_s: 600, batch_max: 5 },
      outbox: { path: join(dir, `${gw}.sqlite`) },
      links: [{ name: 'push', type: 'http', listen: '127.0.0.1:0', token: 'push-token' }],
      devices: [{ id: `${gw}-aq`, kind: 'air.micro', link: 'push' }],
    }),
  );
  const o = (outbox = new Outbox(cfg.outbox.path));
  const u = (uplink = new Uplink(cfg, o));
  u.start();
  // One record every 100 ms, published at once, as a gateway whose devices keep sampling.
  let n = 0;
  driving = setInterval(() => {
    o.append([{ dev: `${gw}-aq`, kind: 'air.micro', ts: T0 + n * 1000, m: { pm25: n % 500 } }]);
    n++;
    u.pump();
  }, 100);
  // Up to the record appended next: at least one record, whatever was appended so far.
  const acked = (what: string) => {
    const mark = o.next;
    return waitFor(`every record up to seq ${mark} acknowledged ${what}`, () => o.acked >= mark).catch(fail);
  };
  await acked('before the cut');
  const before = ours();

  // The worker's connection drops and stays down; the broker ends its session (a clean one) or keeps it
  // (a persistent one), and publishes its will. The gateway goes on publishing.
  r.cut();
  await waitFor('the worker to be offline', () => ours()?.state === 'offline').catch(fail);
  const published = u.stats.published;
  await waitFor('the gateway to publish while the worker is away', () => u.stats.published >= published + 10).catch(
    fail,
  );

  r.restore();
  await waitFor('the worker to read all 16 shards again', readsAll).catch(fail);
  await acked('after the reconnect');

  clearInterval(driving);
  await waitFor('every record acknowledged', () => o.acked === o.next - 1 && o.depth === 0).catch(fail);
  const rows = await influx.rows(`SELECT seq FROM air WHERE gw = '${gw}' AND time >= ${T0}ms`);
  expectSeqsOnce(
    rows.map((row) => Number(row.seq)),
    o.next,
    gw,
  );
  // Nothing waited for the gateway's timer.
  expect(u.republishIntervalMs).toBe(600_000);
  return { before, after: ours(), uplink: u };
}

const resendsOf = (st: IngestState | undefined) => (st?.state === 'running' ? (st.lease?.resends ?? 0) : -1);

describe('a worker that reconnects to the broker', () => {
  it(
    'with leases, asks the gateways of its shards to re-publish what it missed while away, every record stored once',
    { timeout: 120_000 },
    async () => {
      const r = await reconnect('gw-reconnect-lease', ['--leases', redis.url, '--lease-ttl-ms', '2000'], (id) =>
        id.startsWith('ingest-lease-'),
      );
      expect(resendsOf(r.before)).toBe(0); // it took its shards before the gateway had a watermark
      expect(resendsOf(r.after)).toBe(1); // one request, to the one gateway of its shards
      expect(r.uplink.stats.resends).toBe(1);
    },
  );

  it(
    'without leases, finds what was published while it was away in its persistent session, every record stored once',
    { timeout: 120_000 },
    async () => {
      const r = await reconnect('gw-reconnect-static', [], (id) => id === 'ingest-0-of-1');
      expect(r.uplink.stats.resends).toBe(0);
      expect(r.uplink.stats.republished).toBe(0);
    },
  );
});
