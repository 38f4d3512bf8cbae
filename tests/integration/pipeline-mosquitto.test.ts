// simulators → gateway → Mosquitto 2.0 → ingest → influxd: the same network on a stock broker, configured
// by `broker export --mosquitto`'s files (users, ACL with each gateway's own shard, limits).
import { afterEach, describe, expect, it } from 'vitest';
import { Pipeline } from '../helpers/pipeline.ts';
import { verifyExactlyOnce } from '../helpers/verify.ts';
import { waitFor } from '../helpers/wait.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.stop();
  p = undefined;
});

describe('data path over Mosquitto', { timeout: 120_000 }, () => {
  it('delivers every record exactly once, also those Mosquitto queued while ingest was away', async () => {
    p = await new Pipeline({ mosquitto: true, stations: 2 }).start();
    await p.waitForRecords(16);
    // Ingest's session is persistent: Mosquitto keeps its QoS 1 messages while it is gone.
    await p.ingest!.kill('SIGKILL');
    const published = p.status.uplink.published!;
    await waitFor('records queued in Mosquitto', () => p!.status.uplink.published! >= published + 10, 30_000);
    p.startIngest();
    const { nextSeq } = await p.drain();
    const { records } = await verifyExactlyOnce(p, nextSeq);
    expect(records).toBeGreaterThanOrEqual(26);
  });
});
