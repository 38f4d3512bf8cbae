// Every query of every Grafana dashboard (grafana/dashboards/*.json) against a real influxd holding what
// the pipeline writes: two gateways' envelopes → Aedes → ingest (a child process, with its exceedance
// engine) → influxd, over three pinned hours of two air stations and a smokestack with an SO2 excursion,
// plus an operator's acknowledgement as the console writes it. Grafana's macros are replaced as Grafana
// replaces them, with the time range pinned to the data.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { decodeIngestState } from '../../protocol/messages.ts';
import { Influxd } from '../helpers/influxd.ts';
import { ingestProc, makeUsers, PASSWORDS, type Proc, ROOT } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const MIN = 60_000,
  HOUR = 60 * MIN;
// 2026-06-15 10:00 Beijing time: pinned, in the past of any day this runs on (ingest keeps the real clock).
const T0 = Date.UTC(2026, 5, 15, 2);
const RANGE = { from: T0 - HOUR, to: T0 + 4 * HOUR };
/** Values of the dashboards' template variables. */
const VARIABLES: Record<string, string> = { station: 'aq-1', cems: 'cems-1', o2ref: '6', rule: '.*' };
/** Targets that may return nothing for this data (`dashboard uid / panel title / refId`), and why. */
const MAY_BE_EMPTY = new Map([
  ['qc-station-aqi/Daily AQI ($station)/A', 'no Beijing day closes in three hours'],
  ['qc-cems/SO2 at reference O2 against its limit (mg/m³)/C', 'hourly rows come from HJ 212 loggers only'],
  ['qc-cems/NOx at reference O2 against its limit (mg/m³)/C', 'hourly rows come from HJ 212 loggers only'],
  ['qc-cems/Dust at reference O2 against its limit (mg/m³)/C', 'hourly rows come from HJ 212 loggers only'],
  ['qc-cems/NOx at reference O2 against its limit (mg/m³)/B', 'only SO2 went past its limit'],
  ['qc-cems/Dust at reference O2 against its limit (mg/m³)/B', 'only SO2 went past its limit'],
]);

interface Target {
  refId: string;
  query: string;
  rawQuery: boolean;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query: string;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const DIR = join(ROOT, 'grafana/dashboards');
const dashboards = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard);

/** A query as Grafana sends it: $timeFilter, $__interval and the template variables replaced. */
function substitute(q: string): string {
  const out = q
    .replaceAll('$timeFilter', `time >= ${RANGE.from}ms AND time <= ${RANGE.to}ms`)
    .replaceAll('$__interval', '1m')
    .replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      const value = VARIABLES[name];
      if (value === undefined) throw new Error(`no value for the variable ${whole} in ${q}`);
      return value;
    });
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-grafana-'));
const influx = new Influxd(join(dir, 'influxdb'));
const t = new Topics();
let broker: Broker;
let ingest: Proc;
let op: MqttClient;
const gws = new Map<string, { client: MqttClient; seq: number }>();
let started = 0;
let sent = 0;

async function send(gw: string, records: SampleRecord[]): Promise<void> {
  const g = gws.get(gw)!;
  for (let i = 0; i < records.length; i += 50) {
    const batch = records.slice(i, i + 50);
    const env = { v: 1, gw, ep: 'e1', seq: g.seq, records: batch };
    await g.client.publishAsync(t.up(gw), JSON.stringify(env), { qos: 1 });
    g.seq += batch.length;
    sent += batch.length;
  }
}

async function series(q: string): Promise<{ error?: string; series: Series[] }> {
  const r = (await influx.query(q)) as unknown as { results: { error?: string; series?: Series[] }[] };
  const [first] = r.results;
  return { ...(first?.error ? { error: first.error } : {}), series: first?.series ?? [] };
}

/** An air station's minute samples for an hour. */
const airHour = (dev: string, h: number, pm25: number, so2 = 10): SampleRecord[] =>
  Array.from({ length: 60 }, (_, m) => ({
    dev,
    kind: 'air.micro',
    ts: T0 + h * HOUR + m * MIN,
    m: { pm25, pm10: pm25 * 1.5, so2, no2: 40, co: 0.5, o3: 60 },
  }));
const cems = (m: number, so2: number, o2 = 6): SampleRecord => ({
  dev: 'cems-1',
  kind: 'stack.cems',
  ts: T0 + m * MIN,
  m: { so2, nox: 30, dust: 3, o2, flow_v: 12, flue_t: 80 },
});

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-a', 'gw-b']) }).start();
  const devices = join(dir, 'devices.yaml');
  writeFileSync(devices, 'devices:\n  cems-1: { profile: ultra-low }\n');
  op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'operator',
    password: PASSWORDS.operator,
  });
  op.on('message', (_topic, p) => {
    if (decodeIngestState(p).state === 'running') started++;
  });
  await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
  for (const gw of ['gw-a', 'gw-b']) {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: gw,
      username: gw,
      password: PASSWORDS.gateway,
    });
    gws.set(gw, { client, seq: 0 });
  }
  ingest = ingestProc(
    broker.port,
    ['--influx-url', influx.url, '--flush-ms', '50', '--devices', devices, '--city', 'hohhot'],
    { realClock: true },
  );
  await waitFor('ingest to subscribe', () => started === 1, 20_000);

  // Smokestack on gw-a: clean, then SO2 30 mg/m³ at 9 % O2 (37.5 at the 6 % reference, past 35) for ten
  // minutes, then clean again: an ultra-low alarm opens and closes.
  await send('gw-a', [
    ...Array.from({ length: 10 }, (_, m) => cems(m, 20)),
    ...Array.from({ length: 10 }, (_, m) => cems(10 + m, 30, 9)),
    ...Array.from({ length: 10 }, (_, m) => cems(20 + m, 20)),
  ]);
  // aq-1 (gw-a) polluted in its second hour (alarms open and close); aq-2 (gw-b) in its third (they stay open).
  await send('gw-a', [...airHour('aq-1', 0, 40), ...airHour('aq-1', 1, 260, 600), ...airHour('aq-1', 2, 40)]);
  await send('gw-b', [...airHour('aq-2', 0, 30), ...airHour('aq-2', 1, 35), ...airHour('aq-2', 2, 260)]);
  // The first sample of the fourth hour closes the third.
  await send('gw-a', [{ dev: 'aq-1', kind: 'air.micro', ts: T0 + 3 * HOUR, m: { pm25: 40 } }]);
  await send('gw-b', [{ dev: 'aq-2', kind: 'air.micro', ts: T0 + 3 * HOUR, m: { pm25: 40 } }]);

  // The operator's acknowledgement of the smokestack alarm, as the console writes it (docs/protocol.md §7.7).
  const since = T0 + 10 * MIN;
  const ack = `alert_ack,dev=cems-1,field=so2,rule=ultra-low at=${since + 5 * MIN},by="operator",comment="desulfurisation pump restarted",since=${since} ${since}`;
  const res = await fetch(`${influx.url}/write?db=qingcheng&precision=ms`, { method: 'POST', body: ack });
  expect(res.status).toBe(204);

  const count = async (q: string) => Number((await influx.rows(q))[0]?.count ?? 0);
  await waitFor(
    'every record, the AQI rows and the alarm rows in InfluxDB',
    async () =>
      (await count(`SELECT count(seq) FROM air`)) + (await count(`SELECT count(seq) FROM stack`)) === sent &&
      (await count(`SELECT count(aqi) FROM aqi WHERE period = 'hour' AND dev =~ /^aq-/`)) === 6 &&
      (await count(`SELECT count(value) FROM alert WHERE dev = 'cems-1'`)) === 2 &&
      (await count(`SELECT count(value) FROM alert WHERE dev = 'aq-2' AND rule = 'aqi-hour'`)) === 1,
    20_000,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n--- ingest output ---\n${ingest.output}`);
  });
}, 40_000);

afterAll(async () => {
  for (const g of gws.values()) g.client.end(true);
  op?.end(true);
  await ingest?.kill();
  await broker?.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Grafana dashboards against InfluxDB', () => {
  it('has the five dashboards', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual(
      ['qc-alarms', 'qc-cems', 'qc-network', 'qc-pipeline', 'qc-station-aqi'].sort(),
    );
  });

  it('lists the chosen value among each template variable query', async () => {
    for (const d of dashboards)
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        const r = await series(substitute(v.query));
        expect(r.error, `${d.uid} $${v.name}`).toBeUndefined();
        const values = r.series.flatMap((s) => s.values.map((row) => String(row[1])));
        if (VARIABLES[v.name] !== '.*') expect(values, `${d.uid} $${v.name}`).toContain(VARIABLES[v.name]);
        else expect(values.length, `${d.uid} $${v.name}`).toBeGreaterThan(0);
      }
  });

  it('runs every panel query without an error, and every panel that must have data returns series', async () => {
    const empty: string[] = [];
    const keys: string[] = [];
    let targets = 0;
    for (const d of dashboards)
      for (const p of d.panels)
        for (const target of p.targets ?? []) {
          const key = `${d.uid}/${p.title}/${target.refId}`;
          expect(target.rawQuery, key).toBe(true);
          const q = substitute(target.query);
          expect(q, key).not.toMatch(/\$\w|now\(\)/);
          const r = await series(q);
          expect(r.error, `${key}: ${q}`).toBeUndefined();
          const rows = r.series.reduce((n, s) => n + s.values.length, 0);
          if (rows === 0) empty.push(key);
          keys.push(key);
          targets++;
        }
    expect(targets).toBeGreaterThan(30);
    // The exceptions name panels that exist (renaming a panel does not silently widen them).
    for (const k of MAY_BE_EMPTY.keys()) expect(keys, k).toContain(k);
    expect(empty.filter((k) => !MAY_BE_EMPTY.has(k))).toEqual([]);
  });

  it('shows what happened: the converted SO2, the open alarm, the acknowledgement, records by gateway', async () => {
    const panel = (uid: string, title: string, refId = 'A'): string => {
      const d = dashboards.find((x) => x.uid === uid)!;
      const p = d.panels.find((x) => x.title === title);
      expect(p, `${uid}: ${title}`).toBeDefined();
      return substitute(p!.targets!.find((x) => x.refId === refId)!.query);
    };
    // SO2 30 mg/m³ at 9 % O2 → 37.5 at 6 %: what the engine judged (its alert row says the same).
    const so2 = await series(panel('qc-cems', 'SO2 at reference O2 against its limit (mg/m³)'));
    const at11 = so2.series[0]!.values.find((row) => row[0] === T0 + 11 * MIN)!;
    expect(at11.slice(1)).toEqual([30, 37.5]);
    const engine = await series(panel('qc-cems', 'SO2 at reference O2 against its limit (mg/m³)', 'B'));
    expect(engine.series[0]!.tags).toEqual({ rule: 'ultra-low' });
    expect(engine.series[0]!.values.filter((row) => row[1] !== null)).toContainEqual([T0 + 11 * MIN, 37.5, 35]);

    // One alarm still open at the end of the range: aq-2's hourly AQI.
    const open = await series(panel('qc-network', 'Open alarms'));
    expect(open.series[0]!.values[0]![1]).toBe(1);
    const table = await series(panel('qc-network', 'Open alarms: device, rule, value against limit'));
    expect(table.series.map((s) => s.tags)).toEqual([{ dev: 'aq-2', field: 'aqi', rule: 'aqi-hour' }]);

    const acks = await series(panel('qc-alarms', 'Acknowledgements'));
    expect(acks.series[0]!.values).toEqual([
      [T0 + 10 * MIN, 'operator', 'desulfurisation pump restarted', T0 + 15 * MIN],
    ]);

    // Records per minute: two gateways; gw-a wrote aq-1 and cems-1 in the first minute.
    const rate = await series(panel('qc-network', 'Records written per minute by gateway'));
    expect(new Set(rate.series.map((s) => s.tags!.gw))).toEqual(new Set(['gw-a', 'gw-b']));
    const first = (name: string, gw: string) =>
      rate.series.find((s) => s.name === name && s.tags!.gw === gw)!.values.find((row) => row[0] === T0)![1];
    expect([first('air', 'gw-a'), first('stack', 'gw-a'), first('air', 'gw-b')]).toEqual([1, 1, 1]);

    const kinds = await series(panel('qc-network', 'Devices per kind'));
    expect(Object.fromEntries(kinds.series.map((s) => [s.tags!.kind, s.values[0]![1]]))).toEqual({
      'air.micro': 2,
      'stack.cems': 1,
    });
  });
});
