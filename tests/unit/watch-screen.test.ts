// The `watch` screen fits the terminal it is given (80×24 unless told otherwise): nothing wraps, field
// names stay whole, long lists of devices are named compactly, and what does not fit is counted.
// Also the connection's changes as lines of their own, for --lines and --json.
import { describe, expect, it } from 'vitest';
import { Connection, connectionLine } from '../../console/connection.ts';
import { NetworkView } from '../../console/network-view.ts';
import { renderView } from '../../console/screen.ts';
import { width } from '../../console/text.ts';
import { Topics } from '../../protocol/topics.ts';
import { airLive } from '../helpers/messages.ts';

const t = new Topics();
const T = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
const HEAD = { title: 'qingcheng watch', state: 'connected', broker: 'mqtt://broker.example.internal:1883' };

/** A crowded network: two gateways (one with 300 pushing devices, none heard from), 12 alarms, 9 series, 13 events. */
function crowded(): NetworkView {
  const v = new NetworkView(t);
  const status = (extra: object) =>
    JSON.stringify({
      state: 'online',
      ts: T,
      ep: 'e',
      next_seq: 1,
      acked: 0,
      uplink: {},
      sampling: {},
      outbox: { depth: 12, evicted: 0 },
      clock_offset_ms: -3,
      devices: {
        up: ['a', 'b'],
        degraded: ['aq-1', 'aq-2', 'aq-3', 'aq-4', 'aq-5'],
        down: [{ dev: 'c', error: 'timeout after 1000 ms' }],
      },
      ...extra,
    });
  const pushed = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`rsd-${i}`, { accepted: 0, rejected: 0 }]));
  v.onMessage(t.status('gw-sim-01'), status({ pushed }), true);
  v.onMessage(t.status('gw-sim-02'), status({}), true);
  for (let i = 0; i < 12; i++) {
    const open = {
      rule: 'gb13271-in-use-coal',
      field: 'so2_zsavg',
      since: T - 600_000 * i,
      limit: 35,
      peak: 41.2,
      value: 37.5,
      lastTs: T,
      openedAt: T,
      openValue: 36,
    };
    const event = { ...open, dev: `cems-${i}`, state: 'open', ts: T };
    v.onMessage(t.alert(`cems-${i}`), JSON.stringify({ dev: `cems-${i}`, kind: 'stack.cems', event, open: [open] }));
  }
  for (let i = 0; i < 9; i++) v.onMessage(t.live('air.station', `st-${i}`), airLive(`st-${i}`, 'air.station', T, {}));
  const pass = { rule: 'rsd-repeat', field: 'passes', state: 'event', ts: T, since: T, value: 2, limit: 2, peak: 2 };
  v.onMessage(
    t.alert('rsd-1'),
    JSON.stringify({
      dev: 'rsd-1',
      kind: 'rsd',
      event: { ...pass, dev: 'rsd-1', attrs: { plate: '蒙A·D1234' } },
      open: [],
    }),
  );
  return v;
}

describe('watch screen', () => {
  it('fits 80×24 by default: one header line, no line wider than 80 columns, whole field names', () => {
    const lines = renderView(crowded(), T, HEAD);
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(width(l), l).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^qingcheng watch · connected · mqtt:\/\/.*11-28 10:00:00 Beijing$/);
    const screen = lines.join('\n');
    expect(screen).toContain('so2_zsavg'); // not cut to 8 characters
    expect(screen).toContain('gb13271-in-use-coal');
    expect(screen).toContain('37.5 > 35 mg/m³');
    // 300 silent devices and 5 degraded ones, named compactly on lines of their own.
    expect(screen).toContain('      silent 10 min: rsd-0, rsd-1, rsd-2 and 297 more');
    expect(screen).toContain('      degraded: aq-1, aq-2, aq-3 and 2 more');
    expect(screen).toContain('      down: c — timeout after 1000 ms');
    // What does not fit is counted, per section: 12 alarms shown in part, 13 events.
    const shownAlarms = lines.filter((l) => /^ {2}cems-\d+ /.test(l)).length;
    expect(screen).toContain(`  … and ${12 - shownAlarms} more`);
    expect(screen).toMatch(/AIR QUALITY \(9\)[^\n]*\n {2}st-0 [^\n]*\n {2}… and 8 more/);
    expect(screen).toMatch(/EVENTS[^\n]*\n {2}10:00:00 {2}event {2}rsd-1 .*2 passes ≥ 2\n {2}… and 12 more/);
    expect(screen).toMatch(/ {2}cems-11 +gb13271-in-use-coal {2}so2_zsavg {2}08:10:00 {2}37.5 > 35 mg\/m³\n/);
  });

  it("takes the terminal's size: more rows show more, fewer columns drop the least useful columns", () => {
    const big = renderView(crowded(), T, HEAD, { columns: 140, rows: 60 });
    expect(big.join('\n')).not.toContain('… and');
    expect(big.join('\n')).toContain('plate 蒙A·D1234');
    expect(big.length).toBeLessThanOrEqual(60);
    const small = renderView(crowded(), T, HEAD, { columns: 60, rows: 14 });
    expect(small.length).toBeLessThanOrEqual(14);
    for (const l of small) expect(width(l), l).toBeLessThanOrEqual(60);
    expect(small.join('\n')).toContain('37.5 > 35 mg/m³'); // the value stays; the clock column went
    expect(small[1]).toBe('GATEWAYS (2)  state   up  degr  down  push  silent  outbox');
  });

  it('names the devices whose capture the gateway counts short: under 45/60 last hour, or 15 minutes lost', () => {
    const v = new NetworkView(t);
    const hour = (got: number, lost: number) => ({ start: T, got, lost, rate: Math.round((got / 60) * 1000) / 1000 });
    const last = (got: number) => ({ start: T - 3_600_000, got, rate: 0, valid: got >= 45, gaps: '' });
    const capture = {
      'aq-ok': { cadence_s: 1, cadence_from: 'config', hour: hour(20, 0), last_hour: last(60) },
      'aq-dead': { cadence_s: 1, cadence_from: 'config', hour: hour(0, 20), last_hour: last(0) },
      'aq-gappy': { cadence_s: 1, cadence_from: 'config', hour: hour(3, 17), last_hour: last(50) },
      'st-new': { cadence_s: null, cadence_from: 'observed', hour: hour(0, 10) },
    };
    v.onMessage(
      t.status('gw-1'),
      JSON.stringify({
        state: 'online',
        ts: T + 20 * 60_000,
        ep: 'e',
        next_seq: 1,
        acked: 0,
        uplink: {},
        sampling: {},
        outbox: { depth: 0, evicted: 0 },
        clock_offset_ms: 0,
        devices: { up: ['aq-ok', 'aq-dead', 'aq-gappy'], degraded: [], down: [] },
        capture,
      }),
      true,
    );
    const screen = renderView(v, T + 20 * 60_000, HEAD).join('\n');
    expect(screen).toContain('      capture under 45/60: aq-dead 0/60 last hour, aq-gappy 17 min lost');
  });

  it('counts CJK characters as two columns', () => {
    const lines = renderView(crowded(), T, HEAD, { columns: 80, rows: 40 });
    const aqi = lines.find((l) => l.includes('轻度污染'))!;
    const head = lines.find((l) => l.startsWith('AIR QUALITY'))!;
    // The columns after the category line up with their headings.
    expect(width(aqi.slice(0, aqi.indexOf('PM2.5')))).toBe(head.indexOf('primary'));
  });
});

describe('connection lines', () => {
  it('reports connected, disconnected (with the reason, once per loss) and a refused login', () => {
    let now = T;
    const c = new Connection(() => now);
    const o = { broker: 'mqtt://b:1883', user: 'operator', json: false, retryMs: 2000 };
    expect(connectionLine(c.connected()!, o)).toBe('2026-11-28 10:00:00  connected    mqtt://b:1883 as operator');
    now += 5000;
    expect(c.error(new Error('read ECONNRESET'))).toBeNull();
    expect(connectionLine(c.closed()!, o)).toBe(
      '2026-11-28 10:00:05  disconnected mqtt://b:1883 (read ECONNRESET); retrying every 2 s',
    );
    c.reconnecting();
    expect(c.error(new Error('connect ECONNREFUSED 127.0.0.1:1883'))).toBeNull();
    expect(c.closed()).toBeNull(); // still down: no second line
    expect(c.state.attempts).toBe(1);
    now += 1000;
    const refused = c.error(Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }))!;
    expect(JSON.parse(connectionLine(refused, { ...o, json: true }))).toEqual({
      connection: 'refused',
      ts: T + 6000,
      broker: 'mqtt://b:1883',
      user: 'operator',
      reason: 'Bad username or password',
    });
    expect(c.closed()).toBeNull(); // a refusal stays a refusal
  });
});
