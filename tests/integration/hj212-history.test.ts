// History after an outage, end to end: a simulated HJ 212 logger → the gateway's hj212 link → outbox →
// Aedes → ingest → influxd. The gateway is killed (-9) while the logger goes on producing minute and
// hourly data into its memory, with a send queue too small to keep it; when the gateway is back, it
// finds the holes (from the newest times it kept in its outbox), asks the logger for them, and every
// interval the logger holds ends up in InfluxDB once. Sample times are pinned (the logger is driven
// minute by minute), so three hours of a logger's life take seconds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../protocol/time.ts';
import { Hj212Logger, type Factors } from '../../simulators/hj212-logger.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

/** 2025-12-01 00:00 Beijing time: before any faketime date of the suite. */
const T0 = Date.UTC(2025, 11, 1) - 8 * HOUR;
const at = (min: number) => T0 + min * MINUTE;
const MN = '150100A0000001000000A0D1';
const DEV = 'st-hist';

const p = new Pipeline({
  stations: 0,
  hj212: [{ id: DEV, kind: 'air.station', mn: MN }],
  hj212History: { backfill: true, max_window_h: 48, timeout_s: 10, retries: 2, minute_interval_min: 10 },
});
/** An interval's mean PM2.5 is its start in minutes past T0: each row says which interval it is. */
const mean = (from: number): Factors => {
  const v = (from - T0) / MINUTE;
  return { a34004: { Min: v, Avg: v, Max: v, Flag: 'N' } };
};
let logger: Hj212Logger;

beforeAll(async () => {
  await p.start();
  logger = new Hj212Logger({
    host: '127.0.0.1',
    port: p.hj212Port,
    mn: MN,
    st: '22',
    intervalMs: MINUTE,
    ackTimeoutMs: 60_000,
    // A logger with room for one unanswered packet: during a cut its data survives only in its memory.
    maxQueued: 1,
    factors: (t) => ({ a34004: { Rtd: (t.getTime() - T0) / MINUTE, Flag: 'N' } }),
    aggregates: [
      { cn: '2051', everyMs: 10 * MINUTE, factors: mean },
      { cn: '2061', everyMs: HOUR, factors: mean },
    ],
  });
  logger.open();
});
afterAll(async () => {
  logger?.stop();
  await p.stop();
});

/** The logger samples once a minute, `from` to `to` minutes past T0. */
const run = (from: number, to: number) => {
  for (let m = from; m <= to; m++) logger.sample(at(m));
};
/** The device's rows between T0 and T0 + 4 h, by interval kind. */
async function rows(): Promise<{ rt: number[]; min: number[]; hour: number[]; all: Record<string, unknown>[] }> {
  const all = await p.influx.rows(
    `SELECT * FROM air WHERE dev = '${DEV}' AND time >= ${T0}ms AND time < ${at(240)}ms GROUP BY agg`,
  );
  const of = (agg: string) =>
    all
      .filter((r) => (r.agg ?? '') === agg)
      .map((r) => r.time as number)
      .sort((a, b) => a - b);
  return { rt: of(''), min: of('min'), hour: of('hour'), all };
}

it('fetches every minute and hour the logger holds for a cut, and InfluxDB holds each once', async () => {
  await waitFor('the logger connected', () => logger.stats.connects === 1, 20_000);
  run(0, 60);
  await waitFor(
    'the first hour in InfluxDB',
    async () => {
      const r = await rows();
      return r.min.length === 6 && r.hour.length === 1;
    },
    30_000,
  );

  await p.gateway!.kill('SIGKILL');
  run(61, 180); // two hours the gateway never hears of
  p.startGateway();
  await waitFor('the logger back', () => logger.stats.connects >= 2, 30_000);
  run(181, 190); // the minute data from 03:00 (uploaded at 03:10) shows the hole since 00:50

  const held = { min: logger.heldTimes('2051'), hour: logger.heldTimes('2061') };
  expect(held.min).toEqual(Array.from({ length: 19 }, (_, i) => at(i * 10)));
  expect(held.hour).toEqual([at(0), at(60), at(120)]);
  await waitFor(
    'every interval held in InfluxDB, and the gateway done asking',
    async () => {
      const h = p.status?.pushed?.[DEV]?.history as { pending: number; done: number } | undefined;
      const r = await rows();
      return (
        h?.pending === 0 &&
        h.done >= 2 &&
        r.min.length === held.min.length &&
        r.hour.length === held.hour.length &&
        p.status.acked === p.status.next_seq - 1
      );
    },
    60_000,
  );
  const r = await rows();
  expect(r.min).toEqual(held.min);
  expect(r.hour).toEqual(held.hour);
  for (const row of r.all.filter((x) => x.agg)) expect(row.pm25_avg).toBe(((row.time as number) - T0) / MINUTE);
  // Each record the gateway stored (one seq each, over both of its lives) is its own row: no sample was
  // stored twice (a second copy would land on the first's point and leave a seq without a row).
  expect(r.rt.length + r.min.length + r.hour.length).toBe(p.status.next_seq);
  expect(new Set(r.all.map((x) => x.seq)).size).toBe(p.status.next_seq);
  expect(p.status.pushed?.[DEV]?.history).toMatchObject({ timedOut: 0, failed: 0, pending: 0 });
  expect(logger.stats.dropped).toBeGreaterThan(100); // what the logger could not keep queued
  expect(logger.stats.historySent).toBeGreaterThanOrEqual(14 + 3);
});
