// simulators → gateway → Aedes → ingest → influxd, on real parts: the data path over TCP and a serial
// line, the no-loss contract under faults, and an excursion's alarm. One file, so these heavy tests run
// one at a time; the no-loss ones get more time than the drain's own timeout, so a stuck drain reports.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import type { AlarmEvent } from '../../protocol/messages.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { verifyExactlyOnce } from '../helpers/verify.ts';
import { RedisServer } from '../helpers/redis.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.stop();
  p = undefined;
});

describe('data path', () => {
  it('delivers every sampled record exactly once with its values, tags and timestamp', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(40);
    // The gateway's status: its devices, and its clock against ingest's (one machine: close to zero).
    await waitFor(
      'a status with every device up and a clock offset',
      () => p!.status?.devices.up.length === 4 && p!.status.clock_offset_ms !== null,
      30_000,
    );
    expect(Math.abs(p.status.clock_offset_ms ?? Infinity)).toBeLessThan(1000);
    const { nextSeq } = await p.drain();
    const { records } = await verifyExactlyOnce(p, nextSeq);
    expect(records).toBeGreaterThanOrEqual(40);
    expect(p.status.devices.down).toHaveLength(4); // the instruments were stopped to drain
  });
});

describe('data path over a serial line', () => {
  it('polls RTU slaves through a socat pty pair and delivers every record exactly once with what they served', async () => {
    p = await new Pipeline({ serial: true, stations: 3 }).start();
    await p.waitForRecords(24);
    const { nextSeq } = await p.drain();
    const { records } = await verifyExactlyOnce(p, nextSeq);
    expect(records).toBeGreaterThanOrEqual(24);
    // Every unit on the line was read (a pty under load may time out a read now and then: no status check).
    const devs = await p.influx.rows(`SELECT count(seq) FROM air GROUP BY dev`);
    expect(devs.map((r) => r.dev).sort()).toEqual(['aq-2000', 'aq-2001', 'aq-2002']);
    expect(p.fleet.servers[0]!.maxPending).toBe(1); // one request on the bus at a time
  });
});

describe('no loss', { timeout: 150_000 }, () => {
  it('(a) survives a broker restart mid-stream, losing the messages it had queued', async () => {
    p = await new Pipeline().start();
    await p.waitForRecords(30);
    // With ingest away, the broker queues records in ingest's session and has acknowledged them to
    // the gateway; restarting it (in-memory persistence) loses them. Only re-publishing recovers them.
    await p.ingest!.kill('SIGKILL');
    const published = p.status.uplink.published!;
    await waitFor('records queued in the broker', () => p!.status.uplink.published! >= published + 20, 20_000);
    await p.broker.stop();
    const before = p.served.length;
    await waitFor('samples taken while the broker is down', () => p!.served.length >= before + 12, 20_000);
    await p.startBroker();
    p.startIngest();
    await p.waitForRecords((await p.count()) + 30);
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });

  it("(a) with the broker's state in Redis, survives a broker restart mid-stream, keeping the queued records", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qingcheng-redis-'));
    const redis = await new RedisServer(dir).start();
    try {
      p = await new Pipeline({ redis: redis.url }).start();
      await p.waitForRecords(30);
      await p.ingest!.kill('SIGKILL');
      const published = p.status.uplink.published!;
      await waitFor('records queued in the broker', () => p!.status.uplink.published! >= published + 20, 20_000);
      await p.broker.stop();
      await p.startBroker();
      p.startIngest();
      const { nextSeq } = await p.drain();
      await verifyExactlyOnce(p, nextSeq);
    } finally {
      await p?.stop();
      p = undefined;
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
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
    const published = p.status.uplink.published!;
    await waitFor("records taken into ingest's buffer", () => p!.status.uplink.published! >= published + 20, 20_000);
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
    await waitFor(
      'the restarted gateway to report',
      () => p!.online && p!.status.acked >= acked && p!.status.sampling.sampled! > 8,
      30_000,
    ).catch((e) => {
      throw new Error(`${e.message}\nstatus: ${JSON.stringify(p!.status)}\ngateway: ${p!.gateway!.output}`);
    });
    const { nextSeq } = await p.drain();
    await verifyExactlyOnce(p, nextSeq);
  });
});

describe('exceedance from simulators', () => {
  it('raises and closes an alarm for a smokestack excursion, polled by the gateway from a SIM-CEMS', async () => {
    p = await new Pipeline({
      stations: 1,
      cems: 1,
      ingestArgs: ['--alarm-open-s', '1', '--alarm-close-s', '1'],
    }).start();
    await p.waitForAcked(10);
    const stack = p.fleet.cems.get('cems-2001')!;
    stack.excursion = { so2: 60 };
    await waitFor('the open event', () => p!.alerts.some((e) => e.state === 'open'), 30_000);
    stack.excursion = {};
    await waitFor('the close event', () => p!.alerts.some((e) => e.state === 'close'), 30_000);
    const [open, close] = p.alerts as [AlarmEvent, AlarmEvent];
    expect(p.alerts.map((e) => e.state)).toEqual(['open', 'close']);
    expect(open).toMatchObject({ dev: 'cems-2001', rule: 'ultra-low', field: 'so2', limit: 35 });
    // The value judged is SO2 60 mg/m³ converted from the measured O2 to the 6 % reference.
    const [row] = await p.influx.rows(`SELECT so2, o2 FROM stack WHERE dev = 'cems-2001' AND time = ${open.ts}ms`);
    expect(row!.so2).toBe(60);
    expect(open.value).toBeCloseTo((60 * 15) / (21 - Number(row!.o2)), 6);
    expect(open.ts - open.since).toBeGreaterThanOrEqual(1000);
    expect(close.ts).toBeGreaterThan(open.ts);
    await waitFor(
      'both events in InfluxDB',
      async () => (await p!.influx.rows(`SELECT state FROM alert WHERE dev = 'cems-2001'`)).length === 2,
      20_000,
    );
  });
});
