// The exceedance engine through real parts: envelopes from a gateway client → Aedes → ingest (a child
// process) → influxd, with alarm events on MQTT and in the alert measurement, and AQI rows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { Influxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc } from '../helpers/pipeline.ts';
import { cemsMinutes } from '../helpers/samples.ts';
import { decodeAlert, decodeIngestState, type AlarmEvent, type IngestRunning } from '../../protocol/messages.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-engine-'));
const influx = new Influxd(join(dir, 'influxdb'));
const t = new Topics();
const HOUR = 3_600_000,
  MIN = 60_000;
// Sample times are pinned, never taken from the clock: 2026-06-15 10:00 Beijing time, a summer morning
// under HJ 633-2026 and GB 3095-2026's transition limits, in the past of any day this suite runs on.
// Under faketime (npm run test:dates) the test's clock may lie before it, so ingest keeps the real clock.
const T0 = Date.UTC(2026, 5, 15, 2);
let broker: Broker;
let ingest: Proc;
let gw: MqttClient;
let op: MqttClient;
let seq = 0;
const events: AlarmEvent[] = [];
/** Each start of the ingest worker, as it announced itself on sys/ingest/+/state. */
const started: IngestRunning[] = [];

function startIngest(): Proc {
  return ingestProc(
    broker.port,
    ['--influx-url', influx.url, '--flush-ms', '50', '--devices', join(dir, 'devices.yaml'), '--city', 'hohhot'],
    { realClock: true },
  );
}

async function send(records: SampleRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 50) {
    const batch = records.slice(i, i + 50);
    await gw.publishAsync(t.up('gw-eng'), JSON.stringify({ v: 1, gw: 'gw-eng', ep: 'e1', seq, records: batch }), {
      qos: 1,
    });
    seq += batch.length;
  }
}

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-eng']) }).start();
  writeFileSync(
    join(dir, 'devices.yaml'),
    'devices:\n  cems-1: { profile: ultra-low, site: 1号机组 }\n  aq-1: { grade: 2 }\n',
  );
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (topic, p, packet) => {
    if (topic.endsWith('/state')) {
      const s = decodeIngestState(p);
      if (s.state === 'running') started.push(s);
      return;
    }
    const e = packet.retain ? undefined : decodeAlert(p)?.event;
    if (e) events.push(e);
  });
  await op.subscribeAsync(['env/v1/alert/+', 'env/v1/sys/ingest/+/state'], { qos: 1 });
  gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    clientId: 'gw-eng',
    username: 'gw-eng',
    password: PASSWORDS.gateway,
  });
  ingest = startIngest();
  await waitFor('ingest to subscribe', () => started.length === 1, 20_000);
});
afterAll(async () => {
  gw.end(true);
  op.end(true);
  await ingest.kill();
  await broker.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cems = cemsMinutes(T0);

describe('exceedance engine', () => {
  it('opens and closes a smokestack alarm on the O2-converted value, and survives an ingest restart', async () => {
    // Minutes 0–9 clean; from 10 SO2 30 mg/m³ at 9 % O2 = 37.5 at the 6 % reference (> 35).
    await send([
      ...Array.from({ length: 10 }, (_, m) => cems(m, 20)),
      ...Array.from({ length: 5 }, (_, m) => cems(10 + m, 30, 9)),
    ]);
    await waitFor('the open event', () => events.some((e) => e.field === 'so2' && e.state === 'open'), 20_000);
    const open = events.find((e) => e.state === 'open')!;
    expect(open).toMatchObject({
      rule: 'ultra-low',
      field: 'so2',
      limit: 35,
      ts: T0 + 11 * MIN,
      since: T0 + 10 * MIN,
      value: 37.5,
    });

    // kill -9 ingest while the alarm is open; the excursion goes on, then ends.
    await ingest.kill('SIGKILL');
    ingest = startIngest();
    await waitFor('ingest to start again', () => started.length === 2, 20_000);
    expect(started[1]!.restored.alarms).toBe(1);
    await send([
      ...Array.from({ length: 5 }, (_, m) => cems(15 + m, 31, 9)),
      ...Array.from({ length: 5 }, (_, m) => cems(20 + m, 20)),
    ]);
    await waitFor('the close event', () => events.some((e) => e.field === 'so2' && e.state === 'close'), 20_000);
    const so2 = events.filter((e) => e.field === 'so2');
    expect(so2.map((e) => e.state)).toEqual(['open', 'close']); // no second open after the restart
    expect(so2[1]).toMatchObject({ ts: T0 + 20 * MIN, since: T0 + 10 * MIN, peak: (31 * 15) / 12 });

    await waitFor(
      'alert rows in InfluxDB',
      async () => (await influx.rows(`SELECT * FROM alert WHERE dev = 'cems-1'`)).length === 2,
      20_000,
    );
    const rows = await influx.rows(`SELECT * FROM alert WHERE dev = 'cems-1'`);
    expect(rows.map((r) => [r.state, r.time, r.rule, r.field, r.limit, r.value])).toEqual([
      ['open', T0 + 11 * MIN, 'ultra-low', 'so2', 35, 37.5],
      ['close', T0 + 20 * MIN, 'ultra-low', 'so2', 35, 20],
    ]);
  });

  it('computes hourly AQI from valid hourly means and raises the heavy-pollution trigger (AQI > 200)', async () => {
    const hour = (h: number, pm25: number, pm10: number, so2: number) =>
      Array.from({ length: 60 }, (_, m): SampleRecord => ({
        dev: 'aq-1',
        kind: 'air.micro',
        ts: T0 + h * HOUR + m * MIN,
        m: { pm25, pm10, so2, no2: 40, co: 0.5, o3: 60 },
      }));
    const next = { dev: 'aq-1', kind: 'air.micro' as const, ts: T0 + 3 * HOUR, m: { pm25: 40 } };
    await send([...hour(0, 40, 60, 10), ...hour(1, 260, 400, 600), ...hour(2, 40, 60, 10), next]);
    await waitFor(
      'three hourly AQI rows',
      async () => (await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-1' AND period = 'hour'`)).length === 3,
      20_000,
    );
    const rows = await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-1' AND period = 'hour'`);
    // 2026 rules: PM on 1-h means; PM2.5 40 → 60, PM2.5 260 → 310 (severely polluted).
    expect(rows.map((r) => [r.time, r.aqi, r.level, r.primary, r.iaqi_pm25])).toEqual([
      [T0, 60, 2, 'PM2.5', 60],
      [T0 + HOUR, 310, 6, 'PM2.5', 310],
      [T0 + 2 * HOUR, 60, 2, 'PM2.5', 60],
    ]);
    await waitFor(
      'AQI and SO2 alarms to close',
      () =>
        events.filter((e) => e.state === 'close' && ['aqi', 'so2'].includes(e.field) && e.rule !== 'ultra-low')
          .length === 2,
      20_000,
    );
    const air = events.filter((e) => e.rule === 'aqi-hour' || e.rule === 'gb3095-1h');
    expect(air.map((e) => [e.rule, e.field, e.state, e.ts, e.value, e.limit])).toEqual([
      ['gb3095-1h', 'so2', 'open', T0 + HOUR, 600, 500],
      ['aqi-hour', 'aqi', 'open', T0 + HOUR, 310, 200],
      ['gb3095-1h', 'so2', 'close', T0 + 2 * HOUR, 10, 500],
      ['aqi-hour', 'aqi', 'close', T0 + 2 * HOUR, 60, 200],
    ]);
    const [first] = rows;
    expect(first).toMatchObject({ c_pm25: 40, c_so2: 10, gw: 'gw-eng' }); // hourly means kept for a restart

    // The city watch follows the station's hourly means on live/ (here the city has one micro-station).
    await waitFor(
      'city rows',
      async () => (await influx.rows(`SELECT * FROM aqi WHERE dev = 'city-hohhot' AND period = 'hour'`)).length === 3,
      20_000,
    );
    const city = await influx.rows(`SELECT * FROM aqi WHERE dev = 'city-hohhot' AND period = 'hour'`);
    expect(city.map((r) => [r.time, r.aqi, r.stations, r.stations_over_200])).toEqual([
      [T0, 60, 1, 0],
      [T0 + HOUR, 310, 1, 1],
      [T0 + 2 * HOUR, 60, 1, 0],
    ]);

    // A restarted worker reads its rolling windows back from these rows.
    await ingest.kill();
    ingest = startIngest();
    await waitFor('ingest to start again', () => started.length === 3, 20_000);
    expect(started[2]!.restored.air_windows).toBe(2); // aq-1 and the city
  });

  it("keeps an hour's valid mean across a kill -9 of ingest in the middle of the hour", async () => {
    const H = T0 + 5 * HOUR; // after every other air sample: the hour a restarted worker finds open
    const at = (m: number): SampleRecord => ({ dev: 'aq-2', kind: 'air.micro', ts: H + m * MIN, m: { pm25: 30 + m } });
    await send(Array.from({ length: 30 }, (_, m) => at(m)));
    await waitFor(
      'the first half hour in InfluxDB',
      async () => Number((await influx.rows(`SELECT count(pm25) FROM air WHERE dev = 'aq-2'`))[0]?.count ?? 0) === 30,
      20_000,
    );
    await ingest.kill('SIGKILL');
    ingest = startIngest();
    await waitFor('ingest to start again', () => started.length === 4, 20_000);
    expect(started[3]!.restored.replayed_samples).toBeGreaterThanOrEqual(30);
    await send([...Array.from({ length: 30 }, (_, m) => at(30 + m)), at(60)]);
    await waitFor(
      "the hour's AQI row",
      async () => (await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-2' AND period = 'hour'`)).length === 1,
      20_000,
    );
    const [row] = await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-2' AND period = 'hour'`);
    // 60 minutes of 30 … 89 µg/m³: the mean of the whole hour, not of the half after the restart.
    expect(row).toMatchObject({ time: H, c_pm25: 59.5 });
  });

  it('fills an hour from a backlog that arrives after newer live data', async () => {
    const H = T0 + 7 * HOUR;
    const at = (m: number): SampleRecord => ({
      dev: 'aq-3',
      kind: 'air.micro',
      ts: H + m * MIN,
      m: { pm25: 30 + (m % 60), so2: 8 },
    });
    // The first envelope carries the newest sample (next hour), the next ones the backlog.
    await send([at(60)]);
    await send(Array.from({ length: 60 }, (_, m) => at(m)));
    await waitFor(
      "the hour's AQI row with its mean",
      async () =>
        (await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-3' AND period = 'hour'`))[0]?.c_pm25 !== undefined,
      20_000,
    );
    const [row] = await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-3' AND period = 'hour'`);
    expect(row).toMatchObject({ time: H, c_pm25: 59.5, c_so2: 8, gw: 'gw-eng', complete: false });
  });
});

describe('a pollution episode from a simulated station', () => {
  it('backfills three hours of SIM-AQ6 data with a PM episode in the middle hour: AQI rows and the AQI > 200 alarm', async () => {
    const { backfill } = await import('../../simulators/backfill.ts');
    const from = T0 - 4 * HOUR; // before the other tests' data, on a device of its own
    const n = await backfill({
      url: `mqtt://127.0.0.1:${broker.port}`,
      gateway: 'gw-eng',
      password: PASSWORDS.gateway,
      stations: [{ id: 'aq-sim', seed: 77 }],
      from,
      to: from + 3 * HOUR + 60_000,
      stepMs: MIN,
      override: (_dev, ts) => (ts >= from + HOUR && ts < from + 2 * HOUR ? { pm25: 260, pm10: 300 } : undefined),
    });
    expect(n).toBe(181);
    await waitFor(
      'three hourly AQI rows',
      async () => (await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-sim' AND period = 'hour'`)).length === 3,
      20_000,
    );
    const rows = await influx.rows(`SELECT * FROM aqi WHERE dev = 'aq-sim' AND period = 'hour'`);
    expect(rows.map((r) => r.time)).toEqual([from, from + HOUR, from + 2 * HOUR]);
    expect(rows[1]).toMatchObject({ aqi: 310, level: 6, primary: 'PM2.5', iaqi_pm25: 310 });
    expect(Number(rows[0]!.aqi)).toBeLessThan(200);
    expect(Number(rows[2]!.aqi)).toBeLessThan(200);
    await waitFor(
      'the episode alarm to close',
      () => events.some((e) => e.rule === 'aqi-hour' && e.state === 'close' && e.since === from + HOUR),
      20_000,
    );
    const ep = events.filter((e) => e.rule === 'aqi-hour' && e.since === from + HOUR);
    expect(ep.map((e) => [e.state, e.ts, e.value, e.limit])).toEqual([
      ['open', from + HOUR, 310, 200],
      ['close', from + 2 * HOUR, Number(rows[2]!.aqi), 200],
    ]);
    const stored = await influx.rows(`SELECT * FROM alert WHERE dev = 'aq-sim' AND rule = 'aqi-hour'`);
    expect(stored.map((r) => [r.state, r.time, r.value, r.limit])).toEqual([
      ['open', from + HOUR, 310, 200],
      ['close', from + 2 * HOUR, Number(rows[2]!.aqi), 200],
    ]);
  });
});
