// Three ingest workers with --leases share the 16 shards while simulated gateways publish; one worker is
// killed with SIGKILL. Prints how long until the other two read all 16 shards again (from their retained
// states), and how long until the gateways of the shards that moved are healed: their watermark covers
// every record they had been handed when the shards were read again (what the dead worker had not
// acknowledged, and what went to nobody while the shards had no reader). Each shard has two gateways: one
// serves resend requests (docs/protocol.md §5.1), one ignores them as a gateway built before them and
// waits for its re-publish timer, so both figures come from the same kill.
// Usage: node bin/run-ts.js bench/lease-takeover.ts [ttl-ms] [republish-s] [publish-ms]
import mqtt from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../broker/server.ts';
import { decodeIngestState, type IngestState } from '../protocol/messages.ts';
import { shardOf } from '../protocol/topics.ts';
import { FleetGateway, syntheticRecord } from '../simulators/mqtt-load.ts';
import { Influxd } from '../tests/helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../tests/helpers/pipeline.ts';
import { RedisServer } from '../tests/helpers/redis.ts';
import { waitFor } from '../tests/helpers/wait.ts';
const ttl = process.argv[2] ?? '5000';
/** The gateways' re-publish timer: a real gateway's default `republish_s`. */
const republishS = Number(process.argv[3] ?? '30');
/** Each gateway takes one record this often. */
const publishMs = Number(process.argv[4] ?? '200');
const SHARDS = 16;
// Sample times 1 s apart from a fixed past day (ingest refuses samples from the future).
const T0 = Date.UTC(2025, 11, 15, 2);

/** Two gateway ids per shard: the first honours resend requests, the second ignores them. */
const ids: { id: string; honours: boolean }[] = [];
for (let s = 0, k = 0; s < SHARDS; s++)
  for (const honours of [true, false]) {
    while (shardOf(`gw-takeover-${k}`, SHARDS) !== s) k++;
    ids.push({ id: `gw-takeover-${k++}`, honours });
  }

const dir = mkdtempSync(join(tmpdir(), 'qc-takeover-'));
const influx = new Influxd(join(dir, 'influx'));
await influx.start();
const redis = await new RedisServer(dir).start();
const broker = await new Broker({
  port: 0,
  users: await makeUsers(ids.map((g) => g.id)),
  redis: redis.url,
}).start();
const url = `mqtt://127.0.0.1:${broker.port}`;
const states = new Map<string, IngestState>();
const order: string[] = [];
const op = await mqtt.connectAsync(url, { username: 'operator', password: PASSWORDS.operator });
op.on('message', (t, p) => {
  const id = t.split('/')[4]!;
  if (!states.has(id)) order.push(id);
  states.set(id, decodeIngestState(p));
});
await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
const ws: Proc[] = [];
for (let n = 1; n <= 3; n++) {
  ws.push(ingestProc(broker.port, ['--leases', redis.url, '--lease-ttl-ms', ttl, '--influx-url', influx.url]));
  await waitFor('announce', () => order.length === n, 30000);
}
const held = (ids: string[]) =>
  ids
    .flatMap((id) => {
      const s = states.get(id);
      return s?.state === 'running' ? s.shards : [];
    })
    .sort((a, b) => a - b);
const all = (ids: string[]) => {
  const h = held(ids);
  return h.length === 16 && h.every((x, i) => x === i);
};
await waitFor('share', () => all(order) && order.every((id) => held([id]).length > 0 && held([id]).length <= 6), 60000);

const gws = ids.map(
  ({ id, honours }) =>
    new FleetGateway({
      url,
      gateway: id,
      password: PASSWORDS.gateway,
      batch: 20,
      window: 8,
      republishMs: republishS * 1000,
      honourResends: honours,
    }),
);
for (const g of gws) await g.connect();
let n = 0;
const driving = setInterval(() => {
  for (const g of gws) {
    g.add(syntheticRecord(`${g.o.gateway}-aq0`, T0 + n * 1000, n));
    g.pump();
  }
  n++;
}, publishMs);
// The gateways' re-publish timer, checked as often as a real gateway checks it.
const ticking = setInterval(() => {
  for (const g of gws) g.tick();
}, 200);
// Every gateway acknowledged at least once: each worker knows each gateway of its shards by a watermark.
await waitFor('first acknowledgements', () => gws.every((g) => g.acked >= 0), 60000);

const victim = order[0]!;
const moved = new Set(held([victim]));
const t0 = Date.now();
await ws[0]!.kill('SIGKILL');
await waitFor('takeover', () => all(order.slice(1)), 60000, 20);
const readMs = Date.now() - t0;
// Healed: the watermark covers everything handed over up to the moment the shards were read again.
const marks = new Map(gws.map((g) => [g, g.nextSeq - 1]));
const healedAt = new Map<FleetGateway, number>();
const movedGws = gws.filter((g) => moved.has(shardOf(g.o.gateway, SHARDS)));
await waitFor(
  'the moved gateways to heal',
  () => {
    const now = Date.now();
    for (const g of movedGws) if (!healedAt.has(g) && g.acked >= marks.get(g)!) healedAt.set(g, now - t0);
    return healedAt.size === movedGws.length;
  },
  republishS * 1000 * 2 + 60000,
  20,
);
const slowest = (honours: boolean) => {
  const ms = movedGws.filter((g) => g.o.honourResends === honours).map((g) => healedAt.get(g)!);
  return ms.length ? Math.max(...ms) : null;
};
console.log(
  JSON.stringify({
    ttl_ms: Number(ttl),
    republish_s: republishS,
    publish_ms: publishMs,
    gateways: gws.length,
    shards_moved: moved.size,
    kill_to_all_shards_read_ms: readMs,
    // Per group: the last moved gateway to have everything up to the takeover acknowledged, from the kill.
    kill_to_moved_gateways_healed_ms: { with_resend_requests: slowest(true), without: slowest(false) },
    resends_served: gws.reduce((s, g) => s + g.resends, 0),
    republished_envelopes: gws.reduce((s, g) => s + g.republished, 0),
  }),
);
clearInterval(driving);
clearInterval(ticking);
for (const g of gws) await g.close();
for (const w of ws) await w.kill();
op.end(true);
await broker.stop();
await redis.stop();
await influx.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
