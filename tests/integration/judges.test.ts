// The water and noise judges through real parts: envelopes from a gateway client → Aedes → ingest (a
// child process) → influxd. A lake section worse than its target class (its class on live/ and in
// water_class), and a zone 1 point at night (hourly Leq over 45, Lmax over 60). Times are pinned.
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
import {
  decodeAlert,
  decodeIngestState,
  decodeLive,
  type AlarmEvent,
  type LiveReading,
} from '../../protocol/messages.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-judges-'));
const influx = new Influxd(join(dir, 'influxdb'));
const t = new Topics();
const MIN = 60_000;
// 2026-06-15 10:00 and 23:00 Beijing time: in the past of any day this suite runs on; ingest keeps the
// real clock under faketime.
const T10 = Date.UTC(2026, 5, 15, 2);
const T23 = Date.UTC(2026, 5, 15, 15);
let broker: Broker;
let ingest: Proc;
let gw: MqttClient;
let op: MqttClient;
let seq = 0;
let running = false;
const events: AlarmEvent[] = [];
const live = new Map<string, LiveReading>();

async function send(records: SampleRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 50) {
    const batch = records.slice(i, i + 50);
    await gw.publishAsync(t.up('gw-jdg'), JSON.stringify({ v: 1, gw: 'gw-jdg', ep: 'e1', seq, records: batch }), {
      qos: 1,
    });
    seq += batch.length;
  }
}

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-jdg']) }).start();
  writeFileSync(
    join(dir, 'devices.yaml'),
    'devices:\n  ws-1: { target_class: 3, waterbody: lake }\n  ns-1: { noise_zone: "1" }\n',
  );
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (topic, p, packet) => {
    if (topic.endsWith('/state')) {
      if (decodeIngestState(p).state === 'running') running = true;
    } else if (topic.includes('/live/')) {
      const l = decodeLive(p);
      live.set(l.dev, l);
    } else if (!packet.retain && p.length) {
      const e = decodeAlert(p)?.event;
      if (e) events.push(e);
    }
  });
  await op.subscribeAsync(['env/v1/alert/+', 'env/v1/live/#', 'env/v1/sys/ingest/+/state'], { qos: 1 });
  gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    clientId: 'gw-jdg',
    username: 'gw-jdg',
    password: PASSWORDS.gateway,
  });
  ingest = ingestProc(
    broker.port,
    ['--influx-url', influx.url, '--flush-ms', '50', '--devices', join(dir, 'devices.yaml')],
    { realClock: true },
  );
  await waitFor('ingest to subscribe', () => running, 20_000);
}, 40_000);
afterAll(async () => {
  gw?.end(true);
  op?.end(true);
  await ingest?.kill();
  await broker?.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('water and noise judges through the pipeline', () => {
  it("flags a lake section worse than its target class and publishes and stores the section's class", async () => {
    // TP 0.08 mg/L: class II in a river, class IV in a lake (III: 0.05).
    await send([{ dev: 'ws-1', kind: 'water.surface', ts: T10, m: { tp: 0.08, do: 7.8, nh3n: 0.1 } }]);
    await waitFor('the class alarm', () => events.some((e) => e.rule === 'gb3838-class'), 20_000);
    expect(events.filter((e) => e.dev === 'ws-1').map((e) => [e.rule, e.field, e.state, e.value, e.limit])).toEqual([
      ['gb3838-III', 'tp', 'open', 0.08, 0.05],
      ['gb3838-class', 'class', 'open', 4, 3],
    ]);
    await waitFor('live/ of ws-1', () => live.get('ws-1')?.water !== undefined, 20_000);
    expect(live.get('ws-1')!.water).toMatchObject({ class: 'IV', n: 4, target: 'III', worst: ['tp'] });
    await waitFor(
      'the water_class row',
      async () => (await influx.rows(`SELECT * FROM water_class WHERE dev = 'ws-1'`)).length === 1,
      20_000,
    );
    const [row] = await influx.rows(`SELECT * FROM water_class WHERE dev = 'ws-1'`);
    expect(row).toMatchObject({ time: T10, class: 'IV', n: 4, target: 'III', target_n: 3, worst: 'tp' });
  });

  it('holds a zone 1 point to the night limits: hourly Leq over 45 and Lmax over 60 dB(A)', async () => {
    const minute = (i: number): SampleRecord => ({
      dev: 'ns-1',
      kind: 'noise',
      ts: T23 + i * MIN,
      m: { leq: 48, lmax: i === 30 ? 62 : 55 },
    });
    await send(Array.from({ length: 61 }, (_, i) => minute(i)));
    await waitFor('the hourly alarm', () => events.some((e) => e.rule === 'gb3096-1-hour'), 20_000);
    expect(
      events.filter((e) => e.dev === 'ns-1').map((e) => [e.rule, e.field, e.state, e.ts, +e.value.toFixed(2), e.limit]),
    ).toEqual([
      ['gb3096-1-night-lmax', 'lmax', 'event', T23 + 30 * MIN, 62, 60],
      ['gb3096-1-hour', 'leq', 'open', T23, 48, 45],
    ]);
    await waitFor(
      'alert rows',
      async () => (await influx.rows(`SELECT * FROM alert WHERE dev = 'ns-1'`)).length === 2,
      20_000,
    );
  });
});
