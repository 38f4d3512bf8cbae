// The console's device list (state and reason from status/ and live/, site from the devices file), its
// filters and address, the limits its charts draw, and the devices file's site keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deviceRows,
  filterChoices,
  filterRows,
  formatHash,
  parseHash,
  type DeviceRow,
} from '../../console/devices-view.ts';
import { stepFor } from '../../console/device-history.ts';
import { chartLimits } from '../../console/limits.ts';
import { NetworkView } from '../../console/network-view.ts';
import { loadSites } from '../../console/sites.ts';
import { lineChart } from '../../console/web/chart.ts';
import { mapSvg } from '../../console/web/map.ts';
import { loadDeviceFile } from '../../ingest/engine/devices.ts';
import { encodeLive } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { airLive } from '../helpers/messages.ts';

const t = new Topics();
const T = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
const status = (ts: number, devices: object, pushed?: object) =>
  JSON.stringify({
    state: 'online',
    ts,
    ep: 'e1',
    next_seq: 1,
    acked: 0,
    clock_offset_ms: 0,
    outbox: { depth: 0, evicted: 0 },
    uplink: {},
    sampling: {},
    devices,
    ...(pushed ? { pushed } : {}),
  });

describe('device list', () => {
  const v = new NetworkView(t);
  v.onMessage(
    t.status('gw-1'),
    status(
      T,
      { up: ['aq-1'], degraded: ['aq-2', 'cems-1'], down: [{ dev: 'ws-1', error: 'timeout after 1000 ms' }] },
      {
        'rsd-1': {
          accepted: 3,
          rejected: 1,
          lastTs: T - 3_600_000,
          lastError: 'records[0].m.no_ppm: expected a number',
        },
      },
    ),
  );
  v.onMessage(t.status('gw-2'), status(T, { up: ['ns-1'], degraded: [], down: [] }));
  v.onMessage(t.status('gw-2'), JSON.stringify({ state: 'offline' }));
  v.onMessage(t.live('air.micro', 'aq-1'), airLive('aq-1', 'air.micro', T - 1000));
  v.onMessage(
    t.live('air.station', 'aq-2'),
    encodeLive({ dev: 'aq-2', kind: 'air.station', ts: T, m: { pm25: 40, pm10: 70 }, f: { pm10: 'D', pm25: 'N' } }),
  );
  v.onMessage(t.live('city', 'city-hohhot'), airLive('city-hohhot', 'air.station', T).replace('air.station', 'city'));
  const sites = {
    'aq-1': { district: '新城区', site: '内蒙古大学', lat: 40.81, lon: 111.68 },
    'aq-9': { district: '赛罕区' },
  };
  const rows = deviceRows(v, sites);
  const byDev = Object.fromEntries(rows.map((r) => [r.dev, r]));

  it('gives each device its site, kind, gateway, last sample and state with the reason', () => {
    expect(rows.map((r) => r.dev)).toEqual(['aq-1', 'aq-2', 'aq-9', 'cems-1', 'ns-1', 'rsd-1', 'ws-1']);
    expect(byDev['aq-1']).toMatchObject({
      district: '新城区',
      kind: 'air.micro',
      gw: 'gw-1',
      lastSeen: T - 1000,
      state: 'up',
      aqiLevel: 3,
    });
    // Degraded with flags in its latest reading: those are the reason; without, a failed poll.
    expect(byDev['aq-2']).toMatchObject({ state: 'degraded', reason: { why: 'flags', detail: 'pm10 D' } });
    expect(byDev['cems-1']).toMatchObject({ state: 'degraded', reason: { why: 'poll' } });
    expect(byDev['ws-1']).toMatchObject({ state: 'down', reason: { why: 'error', detail: 'timeout after 1000 ms' } });
    expect(byDev['rsd-1']).toMatchObject({
      state: 'silent',
      lastSeen: T - 3_600_000,
      reason: { why: 'error', detail: 'records[0].m.no_ppm: expected a number' },
    });
    expect(byDev['ns-1']).toMatchObject({ gw: 'gw-2', state: 'offline', reason: { why: 'gateway', detail: 'gw-2' } });
    expect(byDev['aq-9']).toMatchObject({ district: '赛罕区', state: 'unknown', reason: { why: 'none' } });
  });

  it('filters by district, kind and gateway, offering the values present', () => {
    expect(filterChoices(rows)).toEqual({
      district: ['新城区', '赛罕区'],
      kind: ['air.micro', 'air.station'],
      gw: ['gw-1', 'gw-2'],
    });
    expect(filterRows(rows, { gw: 'gw-1', kind: 'air.station' }).map((r) => r.dev)).toEqual(['aq-2']);
    expect(filterRows(rows, { district: '赛罕区' }).map((r) => r.dev)).toEqual(['aq-9']);
  });

  it('keeps the view in the address, so a link reproduces it', () => {
    const hash = formatHash({ page: 'overview', filters: { district: '新城区', gw: 'gw-1' } });
    expect(parseHash(hash)).toEqual({ page: 'overview', filters: { district: '新城区', gw: 'gw-1' } });
    expect(parseHash(formatHash({ page: 'device', dev: 'aq-1', until: T }))).toEqual({
      page: 'device',
      dev: 'aq-1',
      until: T,
    });
    expect(parseHash('#dev=aq-1&until=soon')).toEqual({ page: 'device', dev: 'aq-1' });
    expect(parseHash('')).toEqual({ page: 'overview', filters: {} });
  });
});

describe('chart limits and steps', () => {
  it("draws the limit each kind is judged by, the devices file's settings and the alarms' own limits first", () => {
    expect(chartLimits('stack.cems', { limits: { so2: 30 } }, T)).toMatchObject({
      so2: { value: 30, source: 'ultra-low @ O2 6 %' },
      so2_zsavg: { value: 30 },
      nox: { value: 50 },
      dust: { value: 10 },
    });
    expect(chartLimits('air.micro', undefined, T)).toMatchObject({
      so2: { value: 500, source: 'GB 3095 1-h' },
      pm25: { value: 60, source: 'GB 3095 24-h' },
    });
    expect(chartLimits('water.surface', undefined, T).do).toEqual({ value: 5, source: 'gb3838-III', min: true });
    const alarms = [
      { field: 'leq', limit: 55, rule: 'gb3096-1' },
      { field: 'leq', limit: 45, rule: 'gb3096-1' },
    ];
    expect(chartLimits('noise', undefined, T, alarms)).toEqual({ leq: { value: 55, source: 'gb3096-1' } });
  });

  it('keeps a day within about 300 buckets', () => {
    expect(stepFor(86_400_000)).toBe(300_000);
    expect(stepFor(3_600_000)).toBe(30_000);
    expect(stepFor(31 * 86_400_000)).toBe(3 * 3_600_000);
  });
});

describe('devices file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qingcheng-sites-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('gives the console the sites and coordinates, and ingest accepts them', () => {
    const f = file(
      'ok.yaml',
      'devices:\n  aq-1: { district: 新城区, site: 内大, lat: 40.81, lon: 111.68, grade: 1 }\n',
    );
    expect(loadSites(f)).toEqual({ 'aq-1': { district: '新城区', site: '内大', lat: 40.81, lon: 111.68, grade: 1 } });
    expect(loadDeviceFile(f).devices.get('aq-1')).toEqual({ district: '新城区', site: '内大', grade: 1 });
  });

  it("reads the stack's sites file in both", () => {
    const f = new URL('../../config/devices.stack.yaml', import.meta.url).pathname;
    const sites = loadSites(f);
    expect(Object.keys(sites)).toHaveLength(10);
    expect(Object.values(sites).every((s) => s.lat! > 40 && s.lon! > 111)).toBe(true);
    expect(loadDeviceFile(f).devices.get('cems-1008')).toEqual({ district: '赛罕区', site: '金桥热电 1号机组' });
  });

  it('refuses coordinates out of range or half given', () => {
    const far = file('far.yaml', 'devices:\n  aq-1: { lat: 91, lon: 111 }\n');
    expect(() => loadSites(far)).toThrow(`${far}: devices.aq-1.lat: expected at most 90, got 91`);
    expect(() => loadDeviceFile(far)).toThrow('devices.aq-1.lat: expected at most 90, got 91');
    const half = file('half.yaml', 'devices:\n  aq-1: { lat: 40.8 }\n');
    expect(() => loadSites(half)).toThrow('devices.aq-1: lat and lon: give both or neither');
    expect(() => loadDeviceFile(file('text.yaml', 'devices:\n  aq-1: { lon: east }\n'))).toThrow(
      'devices.aq-1.lon: expected a number, got "east"',
    );
  });
});

describe('chart', () => {
  const chart = (points: [number, number][], limit?: number) =>
    lineChart({
      field: 'x',
      title: 'x (kPa)',
      since: T - 86_400_000,
      until: T,
      points,
      stepMs: 300_000,
      ...(limit === undefined ? {} : { limit: { value: limit, text: `limit ${limit}` } }),
    });
  const ticks = (svg: string) => [...svg.matchAll(/<text class="tick" x="56"[^>]*>([^<]*)</g)].map((m) => m[1]);

  it('labels the value axis from zero through the data and the limit, negative values too', () => {
    expect(
      ticks(
        chart(
          [
            [T - 600_000, 12],
            [T - 300_000, 14],
          ],
          35,
        ),
      ),
    ).toEqual(['0', '10', '20', '30', '40']);
    expect(
      ticks(
        chart([
          [T - 600_000, -0.35],
          [T - 300_000, -0.32],
        ]),
      ),
    ).toEqual(['-0.4', '-0.3', '-0.2', '-0.1', '0']);
    expect(ticks(chart([[T - 300_000, 0]]))).toEqual(['0', '0.5', '1']);
  });

  it('breaks the line where buckets are missing, and draws the limit dashed with its text', () => {
    const svg = chart(
      [
        [T - 3_000_000, 3],
        [T - 900_000, 1],
        [T - 600_000, 2],
      ],
      5,
    );
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg.match(/<circle class="series"/g)).toHaveLength(1);
    expect(svg).toContain('<line class="limit" data-limit="5"');
    expect(svg).toContain('>limit 5</text>');
    // Beijing hours on the time axis, the date at midnight: the day to 10:00 on 28 November.
    expect([...svg.matchAll(/class="tick"[^>]*text-anchor="middle">([^<]*)</g)].map((m) => m[1])).toEqual([
      '12:00',
      '15:00',
      '18:00',
      '21:00',
      '11-28',
      '03:00',
      '06:00',
      '09:00',
    ]);
  });
});

describe('map', () => {
  const station = (dev: string, lat: number, lon: number, extra: Partial<DeviceRow> = {}): DeviceRow => ({
    dev,
    lat,
    lon,
    state: 'up',
    openAlarms: 0,
    ...extra,
  });

  it('places stations north up and west left, keeps close labels apart, rings open alarms', () => {
    const svg = mapSvg(
      [
        station('cems-1008', 40.775, 111.806, { site: '金桥热电 1号机组', openAlarms: 1 }),
        station('cems-1009', 40.773, 111.809, { site: '金桥热电 2号机组', state: 'down' }),
        station('aq-1006', 40.808, 111.724, { aqiLevel: 3 }),
        station('no-coords', Number.NaN, Number.NaN),
      ].filter((r) => !Number.isNaN(r.lat)),
      (s) => s,
    );
    const at = (dev: string) => {
      const m = new RegExp(
        `data-station="${dev}">.*?<circle class="station" cx="([\\d.]+)" cy="([\\d.]+)" r="8" fill="([^"]+)"/><text class="station-label" x="[\\d.]+" y="([\\d.]+)"`,
      ).exec(svg)!;
      return { x: Number(m[1]), y: Number(m[2]), fill: m[3], labelY: Number(m[4]) };
    };
    const [a, b, q] = [at('cems-1008'), at('cems-1009'), at('aq-1006')];
    expect(q.x).toBeLessThan(a.x);
    expect(q.y).toBeLessThan(a.y);
    expect(Math.abs(a.labelY - b.labelY)).toBeGreaterThanOrEqual(14);
    expect(q.fill).toBe('#FF7E00'); // its AQI level's colour
    expect(b.fill).toBe('#c62828'); // down
    expect(svg.match(/class="alarm-ring"/g)).toHaveLength(1);
    expect(svg).not.toContain('no-coords');
    expect(
      mapSvg(
        [station('x', Number.NaN, 1)].filter(() => false),
        (s) => s,
      ),
    ).toBe('');
  });
});
