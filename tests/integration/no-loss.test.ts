// The no-loss contract under faults, on real parts: simulators → gateway → Aedes → ingest → influxd.
// Each test gets more time than the drain's own timeout, so a stuck drain reports what it saw.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../cli/services/ports.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { verifyExactlyOnce } from '../helpers/verify.ts';

let p: Pipeline | undefined;
afterEach(async () => { await p?.stop(); p = undefined; });

describe('no loss', { timeout: 150_000 }, () => {
  it('(a) survives a broker restart mid-stream, losing the messages it had queued', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(30);
    // With ingest away, the broker queues records in ingest's session and has acknowledged them to
    // the gateway; restarting it (in-memory persistence) loses them. Only re-publishing recovers them.
    await p.ingest!.kill('SIGKILL');
    const published = p.status.uplink.published;
    await waitFor('records queued in the broker', () => p!.status.uplink.published >= published + 20, 20_000);
    await p.broker.stop();
    const before = p.served.length;
    await waitFor('samples taken while the broker is down', () => p!.served.length >= before + 12, 20_000);
    await p.startBroker();
    p.startIngest();
    await p.waitForRecords((await p.count()) + 30);
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });

  it('(b) survives influxd stopping for 20 s mid-stream', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(30);
    await p.influx.stop();
    const outage = Date.now();
    // The outage itself lasts 20 s, as a real one would; the gateway keeps sampling into its outbox.
    await waitFor('20 s of database outage', () => Date.now() - outage >= 20_000, 25_000, 500);
    expect(p.status.outbox.depth).toBeGreaterThan(0);
    await p.influx.start();
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });

  it('(c) survives kill -9 of the ingest process holding unwritten records', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(30);
    // With the database away, ingest takes records from the broker into its buffer (PUBACKed, not
    // written); kill -9 loses that buffer, and only the gateway's re-publishing brings them back.
    await p.influx.stop();
    const published = p.status.uplink.published;
    await waitFor('records taken into ingest\'s buffer', () => p!.status.uplink.published >= published + 20, 20_000);
    await p.ingest!.kill('SIGKILL');
    await p.influx.start();
    const before = p.served.length;
    await waitFor('samples taken while ingest is dead', () => p!.served.length >= before + 12, 20_000);
    p.startIngest();
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });

  it('(d) survives kill -9 of the gateway and its restart', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(30);
    const acked: number = p.status.acked; // before the kill: the last will replaces the status
    await p.gateway!.kill('SIGKILL');
    p.startGateway();
    await waitFor('the restarted gateway to report', () => p!.status.state === 'online' && p!.status.acked >= acked && p!.status.sampling?.sampled > 8, 30_000)
      .catch((e) => { throw new Error(`${e.message}\nstatus: ${JSON.stringify(p!.status)}\ngateway: ${p!.gateway!.output}`); });
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });
});
