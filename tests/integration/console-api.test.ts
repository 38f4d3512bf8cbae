// The console server's alarm API against a real broker (which decides who is an operator) and a real
// influxd: history read from the alert measurement within the bounds asked for, acknowledgements
// stored in alert_ack and read back. Sample times are pinned; every query names its bounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { ConsoleServer } from '../../console/server.ts';
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

beforeAll(async () => {
  await influx.start();
  broker = await new Broker({ port: 0, wsPort: 0, users: await makeUsers(['gw-a']) }).start();
  web = await new ConsoleServer({
    port: 0,
    ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`,
    prefix: 'env/v1',
    influxUrl: influx.url,
    db: influx.db,
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
