// The console server's alarm API against a real broker (which decides who is an operator) and a real
// influxd: history read from the alert measurement within the bounds asked for, acknowledgements
// stored in alert_ack and read back. Sample times are pinned; every query names its bounds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { ConsoleServer } from '../../console/server.ts';
import { decodeDeviceHistory } from '../../console/device-history.ts';
import { decodeCaptureSummary } from '../../console/capture.ts';
import { Capture } from '../../ingest/capture.ts';
import { decodeAlarmHistory, encodeAckRequest } from '../../protocol/messages.ts';
import { Influxd } from '../helpers/influxd.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

const T0 = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'qingcheng-console-api-'));
const influx = new Influxd(join(dir, 'influxdb'));
let broker: Broker;
let web: ConsoleServer;
let base = '';

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const OPERATOR = basic('operator', PASSWORDS.operator);

/** Ingest's devices file, as the console reads it for the device list and the map. */
const DEVICES = join(dir, 'devices.yaml');
writeFileSync(
  DEVICES,
  `devices:
  aq-h: { district: 新城区, site: 内蒙古大学 南校区, lat: 40.81, lon: 111.68, grade: 2 }
  cems-1: { district: 托克托县, site: 托电 1号机组, profile: ultra-low, limits: { so2: 30 } }
`,
);

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, wsPort: 0, users: await makeUsers(['gw-a']) }).start();
  web = await new ConsoleServer({
    port: 0,
    ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`,
    prefix: 'env/v1',
    influxUrl: influx.url,
    db: influx.db,
    devices: DEVICES,
  }).start();
  base = `http://127.0.0.1:${web.port}`;
  // What ingest writes for alarm events (docs/protocol.md §7.4), one of them two days before the others.
  const lines = [
    `alert,dev=cems-1,field=so2,rule=ultra-low state="open",value=37.5,limit=35,peak=37.5,since=${T0 - 60_000},kind="stack.cems" ${T0}`,
    `alert,dev=rsd-2,field=passes,rule=rsd-repeat state="event",value=2,limit=2,peak=2,since=${T0 + 60_000},kind="rsd",fuel="diesel",plate="蒙A·D1234" ${T0 + 60_000}`,
    `alert,dev=cems-1,field=so2,rule=ultra-low state="close",value=20,limit=35,peak=41,since=${T0 - 48 * HOUR},kind="stack.cems" ${T0 - 47 * HOUR}`,
  ];
  const res = await fetch(`${influx.url}/write?db=${influx.db}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  expect(res.status).toBe(204);
});

afterAll(async () => {
  await web?.stop();
  await broker?.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const history = (query: string, headers: Record<string, string> = OPERATOR) =>
  fetch(`${base}/api/alarms?${query}`, { headers });

const ack = (body: object | string, headers: Record<string, string> = OPERATOR) =>
  fetch(`${base}/api/alarms/ack`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('who may use it', () => {
  it('asks for a login, refuses a wrong password and users without the operator role', async () => {
    const none = await history(`since=${T0}&until=${T0 + HOUR}`, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="qingcheng console"/);
    expect((await history(`since=${T0}&until=${T0 + HOUR}`, basic('operator', 'wrong'))).status).toBe(401);
    const ingest = await history(`since=${T0}&until=${T0 + HOUR}`, basic('ingest', PASSWORDS.ingest));
    expect(ingest.status).toBe(403);
    expect(((await ingest.json()) as { error: string }).error).toContain('not an operator');
    expect((await ack({}, basic('ingest', PASSWORDS.ingest))).status).toBe(403);
    expect((await history(`since=${T0}&until=${T0 + HOUR}`, basic('admin', PASSWORDS.admin))).status).toBe(200);
  });
});

describe('history', () => {
  it('returns the events between since and until, newest first, with their attributes', async () => {
    const res = await history(`since=${T0 - HOUR}&until=${T0 + HOUR}`);
    expect(res.status).toBe(200);
    const h = decodeAlarmHistory(await res.text());
    expect(h).toMatchObject({ since: T0 - HOUR, until: T0 + HOUR, acks: [] });
    expect(h.events).toEqual([
      {
        dev: 'rsd-2',
        kind: 'rsd',
        rule: 'rsd-repeat',
        field: 'passes',
        state: 'event',
        ts: T0 + 60_000,
        since: T0 + 60_000,
        value: 2,
        limit: 2,
        peak: 2,
        attrs: { fuel: 'diesel', plate: '蒙A·D1234' },
      },
      {
        dev: 'cems-1',
        kind: 'stack.cems',
        rule: 'ultra-low',
        field: 'so2',
        state: 'open',
        ts: T0,
        since: T0 - 60_000,
        value: 37.5,
        limit: 35,
        peak: 37.5,
      },
    ]);
    const wider = decodeAlarmHistory(await (await history(`since=${T0 - 48 * HOUR}&until=${T0 + HOUR}`)).text());
    expect(wider.events.map((e) => e.state)).toEqual(['event', 'open', 'close']);
    const one = decodeAlarmHistory(await (await history(`since=${T0 - 48 * HOUR}&until=${T0 + HOUR}&limit=1`)).text());
    expect(one.events.map((e) => e.dev)).toEqual(['rsd-2']);
  });

  it('says what is wrong with the bounds', async () => {
    const bad = async (q: string) => {
      const res = await history(q);
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    expect(await bad('until=1')).toBe('since: required, epoch milliseconds');
    expect(await bad(`since=${T0}&until=${T0 - 1}`)).toContain('is before since');
    expect(await bad('since=yesterday')).toContain('expected epoch milliseconds');
    expect(await bad(`since=0&until=${T0}`)).toContain('at most 92 days');
  });
});

describe('acknowledgements', () => {
  const alarm = { dev: 'cems-1', rule: 'ultra-low', field: 'so2', since: T0 - 60_000 };

  it('stores who acknowledged which alarm with a comment, and reads it back with the history', async () => {
    const res = await ack(encodeAckRequest({ ...alarm, comment: 'desulfurisation pump restarted' }));
    expect(res.status).toBe(200);
    const { ack: stored } = (await res.json()) as { ack: { by: string; at: number; comment: string } };
    expect(stored).toMatchObject({ ...alarm, by: 'operator', comment: 'desulfurisation pump restarted' });
    const rows = await influx.rows(`SELECT * FROM alert_ack WHERE time >= ${T0 - HOUR}ms AND time <= ${T0 + HOUR}ms`);
    expect(rows).toEqual([
      {
        time: alarm.since,
        dev: 'cems-1',
        rule: 'ultra-low',
        field: 'so2',
        since: alarm.since,
        by: 'operator',
        comment: 'desulfurisation pump restarted',
        at: stored.at,
      },
    ]);
    const h = decodeAlarmHistory(await (await history(`since=${T0 - HOUR}&until=${T0 + HOUR}`)).text());
    expect(h.acks).toEqual([{ ...alarm, by: 'operator', comment: 'desulfurisation pump restarted', at: stored.at }]);
  });

  it("keeps one acknowledgement per alarm: a later one replaces the earlier one's comment", async () => {
    expect((await ack({ ...alarm, comment: 'pump replaced' }, basic('admin', PASSWORDS.admin))).status).toBe(200);
    const h = decodeAlarmHistory(await (await history(`since=${T0 - HOUR}&until=${T0 + HOUR}`)).text());
    expect(h.acks).toMatchObject([{ ...alarm, by: 'admin', comment: 'pump replaced' }]);
  });

  it('refuses an acknowledgement without a comment or of no alarm', async () => {
    const bad = async (body: object | string) => {
      const res = await ack(body);
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    expect(await bad({ ...alarm, comment: '  ' })).toBe(
      'ack.comment: say what was done or why (a comment is required)',
    );
    expect(await bad({ ...alarm, dev: 'a b', comment: 'x' })).toContain('ack.dev: expected a name');
    expect(await bad({ ...alarm, since: 'today', comment: 'x' })).toContain('ack.since: expected a number');
    expect(await bad('not json')).toBe('ack: not JSON');
  });
});

describe('one device', () => {
  /** Two hours of one-second readings before T0: pm25 cycles 40…99 each minute (mean 69.5), pm10 flagged D for the first 10 s of each hour. */
  beforeAll(async () => {
    const lines: string[] = [];
    for (let s = 0; s < 7200; s++) {
      const ts = T0 - 2 * HOUR + s * 1000;
      const flag = s % 3600 < 10 ? ',pm10_flag="D"' : '';
      lines.push(`air,dev=aq-h,gw=gw-a,kind=air.micro pm25=${40 + (s % 60)},pm10=90,seq=${s}${flag} ${ts}000000`);
    }
    // A stack logger that sends minute means only (HJ 212): its interval fields are what it has.
    lines.push(`stack,agg=min,dev=cems-h,gw=gw-a,kind=stack.cems so2_avg=28,so2_zsavg=32,seq=1 ${T0 - HOUR}000000`);
    const res = await fetch(`${influx.url}/write?db=${influx.db}&precision=ns`, {
      method: 'POST',
      body: lines.join('\n'),
    });
    expect(res.status).toBe(204);
  });

  const deviceHistory = (dev: string, query: string, headers: Record<string, string> = OPERATOR) =>
    fetch(`${base}/api/device/${encodeURIComponent(dev)}/history?${query}`, { headers });

  it('returns a day of one-second readings as 5-minute means within the bounds asked for, and the flags', async () => {
    const res = await deviceHistory('aq-h', `since=${T0 - 24 * HOUR}&until=${T0}`);
    expect(res.status).toBe(200);
    const h = decodeDeviceHistory(await res.text());
    expect(h).toMatchObject({ dev: 'aq-h', since: T0 - 24 * HOUR, until: T0, step_ms: 300_000, measurement: 'air' });
    expect(Object.keys(h.fields).sort()).toEqual(['pm10', 'pm25']); // seq is bookkeeping
    expect(h.fields.pm25).toHaveLength(24);
    expect(h.fields.pm25![0]).toEqual([T0 - 2 * HOUR, 69.5]);
    expect(h.fields.pm25!.every(([, v]) => v === 69.5)).toBe(true);
    expect(h.flags).toEqual({
      pm10: [
        [T0 - 2 * HOUR, 'D'],
        [T0 - HOUR, 'D'],
      ],
    });
    // Half an hour: 10-second buckets, none outside the bounds.
    const half = decodeDeviceHistory(
      await (await deviceHistory('aq-h', `since=${T0 - HOUR - 1_800_000}&until=${T0 - HOUR}`)).text(),
    );
    expect(half.step_ms).toBe(10_000);
    expect(half.fields.pm25).toHaveLength(180);
    expect(half.fields.pm25!.every(([t]) => t >= T0 - HOUR - 1_800_000 && t < T0 - HOUR)).toBe(true);
    const coarse = decodeDeviceHistory(
      await (await deviceHistory('aq-h', `since=${T0 - 2 * HOUR}&until=${T0}&step=3600000`)).text(),
    );
    expect(coarse.fields.pm25).toEqual([
      [T0 - 2 * HOUR, 69.5],
      [T0 - HOUR, 69.5],
    ]);
    const stack = decodeDeviceHistory(
      await (await deviceHistory('cems-h', `since=${T0 - 2 * HOUR}&until=${T0}`)).text(),
    );
    expect(stack).toMatchObject({
      measurement: 'stack',
      fields: { so2_avg: [[T0 - HOUR, 28]], so2_zsavg: [[T0 - HOUR, 32]] },
    });
    const none = decodeDeviceHistory(
      await (await deviceHistory('nobody', `since=${T0 - 2 * HOUR}&until=${T0}`)).text(),
    );
    expect(none).toMatchObject({ measurement: '', fields: {}, flags: {} });
  });

  it('says what is wrong with a request, and asks for a login', async () => {
    const bad = async (dev: string, q: string) => {
      const res = await deviceHistory(dev, q);
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    expect(await bad('aq-h', `until=${T0}`)).toBe('since: required, epoch milliseconds');
    expect(await bad('aq-h', `since=${T0}`)).toBe('until: required, epoch milliseconds');
    expect(await bad('aq-h', `since=${T0}&until=${T0}`)).toContain('must be after since');
    expect(await bad('aq-h', `since=${T0 - 40 * 24 * HOUR}&until=${T0}`)).toBe('at most 31 days at a time');
    expect(await bad('aq-h', `since=${T0 - 24 * HOUR}&until=${T0}&step=60000`)).toBe(
      'step: expected 87000–2678400000, got 60000',
    );
    expect(await bad("aq'h", `since=${T0 - HOUR}&until=${T0}`)).toContain('dev: expected a device id');
    expect((await deviceHistory('aq-h', `since=${T0 - HOUR}&until=${T0}`, {})).status).toBe(401);
    expect(
      (await deviceHistory('aq-h', `since=${T0 - HOUR}&until=${T0}`, basic('ingest', PASSWORDS.ingest))).status,
    ).toBe(403);
  });

  it("filters the alarm history to one device, and serves the devices file's sites", async () => {
    const h = decodeAlarmHistory(await (await history(`since=${T0 - HOUR}&until=${T0 + HOUR}&dev=rsd-2`)).text());
    expect(h.events.map((e) => e.dev)).toEqual(['rsd-2']);
    expect((await history(`since=${T0 - HOUR}&dev=a%20b`)).status).toBe(400);
    const res = await fetch(`${base}/api/sites`, { headers: OPERATOR });
    expect(await res.json()).toEqual({
      devices: {
        'aq-h': { district: '新城区', site: '内蒙古大学 南校区', lat: 40.81, lon: 111.68, grade: 2 },
        'cems-1': { district: '托克托县', site: '托电 1号机组', profile: 'ultra-low', limits: { so2: 30 } },
      },
    });
    expect((await fetch(`${base}/api/sites`)).status).toBe(401);
  });
});

describe('data capture', () => {
  it("serves each device's latest closed hour, and a device's hours with its history", async () => {
    // What ingest writes (docs/protocol.md §7.9): 40 minutes in the first hour, 50 in the second, the third open.
    const c = new Capture();
    const at = (ts: number) => c.record('gw-a', { dev: 'aq-c', kind: 'air.micro', ts, m: { pm25: 20 } });
    for (let m = 0; m < 60; m++) if (m < 20 || m >= 40) at(T0 + m * 60_000);
    for (let m = 0; m < 50; m++) at(T0 + HOUR + m * 60_000);
    at(T0 + 2 * HOUR);
    const write = await fetch(`${influx.url}/write?db=${influx.db}&precision=ns`, {
      method: 'POST',
      body: c.flush().join('\n'),
    });
    expect(write.status).toBe(204);

    const res = await fetch(`${base}/api/capture?since=${T0 - HOUR}&until=${T0 + 3 * HOUR}`, { headers: OPERATOR });
    expect(decodeCaptureSummary(await res.text()).devices['aq-c']).toEqual({
      hour: { start: T0 + HOUR, got: 50, rate: 0.833, valid: true, gaps: '11:50-11:59' },
    });
    const h = decodeDeviceHistory(
      await (
        await fetch(`${base}/api/device/aq-c/history?since=${T0}&until=${T0 + 3 * HOUR}`, { headers: OPERATOR })
      ).text(),
    );
    expect(h.capture.map((x) => [x.start, x.got, x.valid])).toEqual([
      [T0, 40, false],
      [T0 + HOUR, 50, true],
      [T0 + 2 * HOUR, 1, false],
    ]);
    expect((await fetch(`${base}/api/capture?since=${T0}`, { headers: OPERATOR })).status).toBe(400);
    expect((await fetch(`${base}/api/capture?since=${T0}&until=${T0 + HOUR}`)).status).toBe(401);
  });
});
