// Two brokers sharing one Redis, the gateway given both (mqtt.url as a list), ingest on the second:
// the first broker goes away mid-stream, the gateway moves to the second, and every sampled record is
// stored exactly once with what the instrument served.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pipeline } from '../helpers/pipeline.ts';
import { RedisServer } from '../helpers/redis.ts';
import { verifyExactlyOnce } from '../helpers/verify.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-failover-'));
const redis = new RedisServer(dir);
let p: Pipeline;

beforeAll(async () => {
  await redis.start();
  p = await new Pipeline({ redis: redis.url, failover: true }).start();
});
afterAll(async () => {
  await p?.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('moves a gateway to the next broker of its list when its broker goes away, losing nothing', async () => {
  await p.waitForRecords(30);
  // The gateway took the first URL (the only client there); its records reach ingest on the second
  // broker through Redis.
  expect(p.broker.clients).toBe(1);
  const onSecond = p.broker2!.clients;
  await p.broker.stop();
  await waitFor('the gateway on the second broker', () => p.broker2!.clients > onSecond, 20_000);
  const before = await p.count();
  await p.waitForRecords(before + 30);
  const { nextSeq } = await p.drain();
  await verifyExactlyOnce(p, nextSeq);
});
