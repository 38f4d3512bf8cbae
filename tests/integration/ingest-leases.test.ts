// Ingest workers that take their shards by lease in Redis (`qingcheng ingest --leases`), as child
// processes against a real Aedes broker (its state in the same Redis), a real influxd and simulated
// gateways that follow the delivery contract (outbox seqs, acks, re-publishing). Three workers share
// the 16 shards while gateways publish; one is killed with SIGKILL; the others take its shards, every
// record sent is stored exactly once, and an alarm open on a device of the killed worker's shard stays
// open under its new owner (it closes once, and is never opened again).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { decodeAlert, decodeIngestState, type AlarmEvent, type IngestState } from '../../protocol/messages.ts';
import { shardOf } from '../../protocol/topics.ts';
import { FleetGateway, syntheticRecord } from '../../simulators/mqtt-load.ts';
import { Influxd } from '../helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../helpers/pipeline.ts';
import { RedisServer } from '../helpers/redis.ts';
import { cemsMinutes } from '../helpers/samples.ts';
import { expectSeqsOnce } from '../helpers/verify.ts';
import { waitFor } from '../helpers/wait.ts';

const SHARDS = 16;
const MIN = 60_000;
// Pinned sample times: 2026-06-15 10:00 Beijing, before any day the suite runs on (workers keep the real clock).
const T0 = Date.UTC(2026, 5, 15, 2);
const T_END = T0 + 24 * 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-leases-'));
const influx = new Influxd(join(dir, 'influxdb'));
const redis = new RedisServer(dir);
let broker: Broker;
let op: MqttClient;

/** One gateway id per shard, so every worker has gateways whatever shards it holds. */
const airIds = Array.from({ length: SHARDS }, (_, s) => {
  let k = 0;
  while (shardOf(`gw-lease-${k}`, SHARDS) !== s) k++;
  return `gw-lease-${k}`;
});
const CEMS_GW = 'gw-lease-cems';

/** Each worker's latest retained state, by client id; and the order the client ids appeared in. */
const states = new Map<string, IngestState>();
const clients: string[] = [];
const events: AlarmEvent[] = [];
const retained: AlarmEvent[] = [];

const workers: Proc[] = [];
function startWorker(): Proc {
  const p = ingestProc(
    broker.port,
    [
      '--leases',
      redis.url,
      '--lease-ttl-ms',
      '2000',
      '--influx-url',
      influx.url,
      '--flush-ms',
      '50',
      '--devices',
      join(dir, 'devices.yaml'),
    ],
    { realClock: true },
  );
  workers.push(p);
  return p;
}

/** The shards the given clients read, by their latest state. */
function shardsOf(ids: string[]): number[] {
  return ids.flatMap((id) => {
    const s = states.get(id);
    return s?.state === 'running' ? s.shards : [];
  });
}
const everyShardOnce = (ids: string[]) => {
  const s = shardsOf(ids).sort((a, b) => a - b);
  return s.length === SHARDS && s.every((x, i) => x === i);
};

const gateways = new Map<string, FleetGateway>();
let air = 0;
let driving: NodeJS.Timeout | undefined;
let ticking: NodeJS.Timeout | undefined;

beforeAll(async () => {
  await influx.start();
  await redis.start();
  writeFileSync(join(dir, 'devices.yaml'), 'devices:\n  cems-1: { profile: ultra-low }\n');
  broker = await new Broker({ port: 0, users: await makeUsers([...airIds, CEMS_GW]), redis: redis.url }).start();
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (topic, p, packet) => {
    if (topic.endsWith('/state')) {
      const id = topic.split('/')[4]!;
      if (!states.has(id)) clients.push(id);
      states.set(id, decodeIngestState(p));
      return;
    }
    const e = decodeAlert(p)?.event;
    if (e && packet.retain) retained.push(e);
    else if (e) events.push(e);
  });
  await op.subscribeAsync(['env/v1/alert/+', 'env/v1/sys/ingest/+/state'], { qos: 1 });
  for (const id of [...airIds, CEMS_GW]) {
    const g = new FleetGateway({
      url: `mqtt://127.0.0.1:${broker.port}`,
      gateway: id,
      password: PASSWORDS.gateway,
      batch: 20,
      window: 4,
      republishMs: 1000,
    });
    await g.connect();
    gateways.set(id, g);
  }
  // The gateways' own re-publish timer (docs/protocol.md §6.5), as a real gateway checks every second.
  ticking = setInterval(() => {
    for (const g of gateways.values()) g.tick();
  }, 200);
});

afterAll(async () => {
  clearInterval(driving);
  clearInterval(ticking);
  for (const g of gateways.values()) await g.close();
  op?.end(true);
  for (const w of workers) await w.kill();
  await broker?.stop();
  await redis.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cems = cemsMinutes(T0);
function sendCems(records: SampleRecord[]): void {
  const g = gateways.get(CEMS_GW)!;
  for (const r of records) g.add(r);
  g.pump();
}

/** Adds one record to every air gateway each step (sample times 1 s apart), while the test goes on. */
function drive(): void {
  driving = setInterval(() => {
    for (const id of airIds) gateways.get(id)!.add(syntheticRecord(`${id}-aq${air % 2}`, T0 + air * 1000, air));
    air++;
    for (const id of airIds) gateways.get(id)!.pump();
  }, 100);
}

describe('ingest with shard leases', () => {
  it(
    'shares the shards, survives a kill -9 of a worker with every record stored once, and keeps its open alarm',
    { timeout: 120_000 },
    async () => {
      const tail = () => workers.map((w, i) => `worker ${i}: ${w.output.slice(-12000)}`).join('\n');
      const fail = (e: Error) => {
        const gws = [...gateways].map(
          ([id, g]) =>
            `${id} (shard ${shardOf(id, SHARDS)}): acked ${g.acked} of ${g.nextSeq}, republished ${g.republished}`,
        );
        throw new Error(`${e.message}\ngateways: ${gws.join('; ')}\nstates: ${JSON.stringify([...states])}\n${tail()}`);
      };
      // Workers join one at a time, each known by the client id it announces; gateways publish from the first on.
      for (let n = 1; n <= 3; n++) {
        startWorker();
        await waitFor(`worker ${n} to announce itself`, () => clients.length === n, 30_000).catch(fail);
        if (n === 1) drive();
      }
      await waitFor(
        'three workers to share the 16 shards',
        // Each at most its fair share, ceil(16 / 3) = 6, and none idle.
        () => everyShardOnce(clients) && clients.every((id) => shardsOf([id]).length > 0 && shardsOf([id]).length <= 6),
        30_000,
      ).catch(fail);

      // An alarm opens on a device whose gateway's shard the soon-killed worker holds.
      const victim = clients.findIndex((id) => shardsOf([id]).includes(shardOf(CEMS_GW, SHARDS)));
      sendCems([
        ...Array.from({ length: 10 }, (_, m) => cems(m, 20)),
        ...Array.from({ length: 5 }, (_, m) => cems(10 + m, 30, 9)),
      ]);
      await waitFor('the open event', () => events.some((e) => e.dev === 'cems-1' && e.state === 'open'), 30_000).catch(
        fail,
      );

      // Its records, and so the alarm's open row, are stored and acknowledged: nothing of it is sent again.
      await waitFor('the alarm records to be acknowledged', () => gateways.get(CEMS_GW)!.settled, 30_000).catch(fail);
      const victimShards = shardsOf([clients[victim]!]).length;
      await workers[victim]!.kill('SIGKILL');
      const survivors = clients.filter((_, i) => i !== victim);
      await waitFor(
        'the killed worker to be offline',
        () => states.get(clients[victim]!)?.state === 'offline',
        30_000,
      ).catch(fail);
      const gains = () =>
        survivors.reduce((n, id) => {
          const st = states.get(id);
          return n + (st?.state === 'running' ? (st.lease?.gains ?? 0) : 0);
        }, 0);
      const gainedBefore = gains();
      await waitFor('the other workers to take its shards', () => everyShardOnce(survivors), 30_000).catch(fail);
      // Their states count the leases they took.
      expect(gains() - gainedBefore).toBe(victimShards);

      // The excursion goes on under the new owner, then ends.
      sendCems([
        ...Array.from({ length: 5 }, (_, m) => cems(15 + m, 31, 9)),
        ...Array.from({ length: 5 }, (_, m) => cems(20 + m, 20)),
      ]);
      await waitFor(
        'the close event',
        () => events.some((e) => e.dev === 'cems-1' && e.state === 'close'),
        30_000,
      ).catch(fail);
      const so2 = events.filter((e) => e.dev === 'cems-1' && e.field === 'so2');
      const seen = JSON.stringify(so2.map((e) => [e.state, (e.ts - T0) / MIN, (e.since - T0) / MIN]));
      if (so2.length !== 2 || so2[1]!.since !== T0 + 10 * MIN)
        fail(new Error(`the alarm's events [state, minute, since]: ${seen}; retained: ${JSON.stringify(retained)}`));
      expect(so2.map((e) => e.state)).toEqual(['open', 'close']); // not opened again by the new owner
      expect(so2[1]).toMatchObject({ ts: T0 + 20 * MIN, since: T0 + 10 * MIN });

      // Gateways stop taking records; everything sent is acknowledged, and stored once.
      clearInterval(driving);
      await waitFor(
        'every gateway to be acknowledged',
        () => [...gateways.values()].every((g) => g.settled),
        60_000,
      ).catch(fail);
      const window = `time >= ${T0}ms AND time < ${T_END}ms`;
      for (const id of airIds) {
        const rows = await influx.rows(`SELECT seq FROM air WHERE gw = '${id}' AND ${window}`);
        expectSeqsOnce(
          rows.map((r) => Number(r.seq)),
          gateways.get(id)!.nextSeq,
          id,
        );
      }
      const stack = await influx.rows(`SELECT seq FROM stack WHERE gw = '${CEMS_GW}' AND ${window}`);
      expectSeqsOnce(
        stack.map((r) => Number(r.seq)),
        25,
        CEMS_GW,
      );
      expect(air).toBeGreaterThan(0);
    },
  );
});
