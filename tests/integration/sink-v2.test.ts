// The /api/v2/write sink end to end, against a real server that speaks it (VictoriaMetrics).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Pipeline } from '../helpers/pipeline.ts';
import { verifyExactlyOnce } from '../helpers/verify.ts';
import { VictoriaMetrics } from '../helpers/victoria-metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-vm-'));
const vm = new VictoriaMetrics(dir);
let p: Pipeline | undefined;
afterAll(async () => {
  await p?.stop();
  await vm.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('writes through /api/v2/write: every record once, with its values, tags and timestamp', async () => {
  await vm.start();
  p = await new Pipeline({
    sinkArgs: ['--api', 'v2', '--influx-url', vm.url, '--org', 'city', '--bucket', 'env', '--token', 'not-checked'],
  }).start();
  await p.waitForAcked(40);
  const { nextSeq } = await p.drain();
  expect(nextSeq).toBeGreaterThan(0);
  await verifyExactlyOnce(p, nextSeq, await vm.rows('air'));
});
