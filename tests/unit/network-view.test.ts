// The operator's view of the network, built from MQTT messages alone.
import { describe, expect, it } from 'vitest';
import { NetworkView } from '../../console/network-view.ts';
import { eventLine, renderView } from '../../console/screen.ts';
import { Topics } from '../../protocol/topics.ts';
import { airLive, rsdRepeat } from '../helpers/messages.ts';

const t = new Topics();
const T = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
const open = {
  rule: 'ultra-low',
  field: 'so2',
  since: T - 600_000,
  limit: 35,
  peak: 41.2,
  value: 37.5,
  lastTs: T,
  openedAt: T - 540_000,
  openValue: 36,
};

describe('network view', () => {
  it('follows gateways, open alarms, hourly AQI and events; a retained alert restates, an empty one clears', () => {
    const v = new NetworkView(t);
    v.onMessage(
      t.status('gw-1'),
      JSON.stringify({
        state: 'online',
        ts: T,
        ep: 'e1',
        next_seq: 100,
        acked: 87,
        uplink: {},
        sampling: {},
        outbox: { depth: 12, evicted: 0 },
        clock_offset_ms: -3,
        devices: { up: ['a', 'b'], degraded: [], down: [{ dev: 'c', error: 'timeout' }] },
        pushed: { 'st-1': { accepted: 9, rejected: 0, lastTs: T - 30_000 }, 'rsd-1': { accepted: 0, rejected: 0 } },
      }),
      true,
    );
    expect(
      v.onMessage(
        t.alert('cems-1'),
        JSON.stringify({
          dev: 'cems-1',
          kind: 'stack.cems',
          event: { ...open, state: 'open', ts: T - 540_000 },
          open: [open],
        }),
        true,
      ),
    ).toBeNull();
    const ev = v.onMessage(
      t.alert('cems-2'),
      JSON.stringify({
        dev: 'cems-2',
        kind: 'stack.cems',
        event: {
          dev: 'cems-2',
          rule: 'ultra-low',
          field: 'nox',
          state: 'open',
          ts: T,
          since: T - 60_000,
          value: 55,
          limit: 50,
          peak: 55,
        },
        open: [{ ...open, field: 'nox', since: T - 60_000 }],
      }),
    );
    expect(ev).toMatchObject({ dev: 'cems-2', state: 'open', field: 'nox', value: 55 });
    v.onMessage(t.live('air.station', 'st-1'), airLive('st-1', 'air.station', T));
    expect(v.openAlarms().map((a) => [a.dev, a.field])).toEqual([
      ['cems-1', 'so2'],
      ['cems-2', 'nox'],
    ]);
    const screen = renderView(v, T, { title: 'qingcheng watch', state: 'connected', broker: 'mqtt://b' }).join('\n');
    expect(screen).toContain('11-28 10:00:00 Beijing');
    expect(screen).toContain('GATEWAYS (1)  state   up  degr  down  push  silent  outbox  clock');
    expect(screen).toContain('  gw-1        online   2     0     1     2       1      12  -3 ms');
    expect(screen).toContain('      down: c — timeout');
    expect(screen).toContain('      silent 10 min: rsd-1');
    expect(screen).toContain('OPEN ALARMS (2)');
    expect(screen).toContain('  cems-1         ultra-low  so2    09:50:00  37.5 > 35 mg/m³  41.2');
    expect(screen).toContain('  st-1           09:00–10:00  107  轻度污染  PM2.5      95  none');
    v.onMessage(t.alert('cems-1'), '', true);
    expect(v.openAlarms().map((a) => a.dev)).toEqual(['cems-2']);
    expect(eventLine(ev!)).toBe('2026-11-28 10:00:00  open   cems-2  ultra-low  nox  55 > 50 mg/m³');
  });

  it('names a vehicle in a remote-sensing event and counts what it cannot read', () => {
    const v = new NetworkView(t);
    const ev = v.onMessage(t.alert('rsd-1'), rsdRepeat('rsd-1', T));
    // A repeat offender's count reads as what it is: passes that reached the count.
    expect(eventLine(ev!)).toContain('event  rsd-1  rsd-repeat  passes  2 passes ≥ 2  plate 蒙A·D1234');
    v.onMessage(t.alert('x'), 'not json');
    v.onMessage(t.status('gw-x'), JSON.stringify({ state: 'sleeping' }));
    expect(v.malformed).toBe(2);
    expect(v.gateways.has('gw-x')).toBe(false);
  });
});
