// Three ingest workers with --leases share the 16 shards; one is killed with SIGKILL; prints how long until
// the other two read all 16 again (from their retained states). Usage: node bin/run-ts.js bench/lease-takeover.ts [ttl-ms]
import mqtt from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../broker/server.ts';
import { decodeIngestState, type IngestState } from '../protocol/messages.ts';
import { Influxd } from '../tests/helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../tests/helpers/pipeline.ts';
import { RedisServer } from '../tests/helpers/redis.ts';
import { waitFor } from '../tests/helpers/wait.ts';
const ttl = process.argv[2] ?? '5000';
const dir = mkdtempSync(join(tmpdir(), 'qc-takeover-'));
const influx = new Influxd(join(dir, 'influx'));
await influx.start();
const redis = await new RedisServer(dir).start();
const broker = await new Broker({ port: 0, users: await makeUsers([]), redis: redis.url }).start();
const states = new Map<string, IngestState>();
const order: string[] = [];
const op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
  username: 'operator',
  password: PASSWORDS.operator,
});
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
const t0 = Date.now();
await ws[0]!.kill('SIGKILL');
await waitFor('takeover', () => all(order.slice(1)), 60000, 20);
console.log(JSON.stringify({ ttl_ms: Number(ttl), kill_to_all_shards_read_ms: Date.now() - t0 }));
for (const w of ws) await w.kill();
op.end(true);
await broker.stop();
await redis.stop();
await influx.stop();
process.exit(0);
