// Live readings in the operator's view: the latest reading per device with its flags, how often the
// device reports and when its row is stale, the provisional AQI of the open hour (only when honest),
// units from the registry, and the comparison each rule makes; and the console's tables built from them.
import { describe, expect, it } from 'vitest';
import { NetworkView } from '../../console/network-view.ts';
import { isStale, OpenHour, Readings, STALE_UNKNOWN_MS } from '../../console/readings.ts';
import { exceedance, exceedanceText, unitOf } from '../../console/units.ts';
import { mergeEvents, wantedRange } from '../../console/web/alarms.ts';
import { initialLang, setLang } from '../../console/web/i18n.ts';
import { airTable, alarmsTable, eventsTable, readingsTables } from '../../console/web/render.ts';
import { Topics } from '../../protocol/topics.ts';
import { computeAqi } from '../../standards/aqi.ts';
import { airLive, rsdRepeat } from '../helpers/messages.ts';

const t = new Topics();
const H = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing: the start of an hour
const MIN = 60_000;
const air = (ts: number, m: Record<string, number>, f?: Record<string, string>) => ({
  dev: 'aq-1',
  kind: 'air.micro',
  ts,
  m,
  ...(f ? { f } : {}),
});

describe('readings', () => {
  it('keeps the latest reading per device with its flags, and learns its cadence from the sample times', () => {
    const r = new Readings();
    r.add(air(H, { pm25: 50 }));
    expect(r.byDev.get('aq-1')!.cadenceMs).toBeUndefined();
    for (const dt of [10_000, 20_000, 30_000, 45_000]) r.add(air(H + dt, { pm25: 60 }, { pm25: 'D' }));
    const x = r.byDev.get('aq-1')!;
    expect(x).toMatchObject({ ts: H + 45_000, m: { pm25: 60 }, f: { pm25: 'D' } });
    expect(x.cadenceMs).toBe(10_000); // median of 10, 10, 10, 15 s
    r.add(air(H + 40_000, { pm25: 1 })); // late: the newer reading stays
    expect(r.byDev.get('aq-1')!.m.pm25).toBe(60);
  });

  it('is stale after twice the cadence (at least 5 s), or 2 minutes while the cadence is unknown', () => {
    expect(isStale({ ts: H, cadenceMs: 10_000 }, H + 20_000)).toBe(false);
    expect(isStale({ ts: H, cadenceMs: 10_000 }, H + 20_001)).toBe(true);
    expect(isStale({ ts: H, cadenceMs: 1000 }, H + 4000)).toBe(false);
    expect(isStale({ ts: H, cadenceMs: 1000 }, H + 5001)).toBe(true);
    expect(isStale({ ts: H }, H + STALE_UNKNOWN_MS)).toBe(false);
    expect(isStale({ ts: H }, H + STALE_UNKNOWN_MS + 1)).toBe(true);
  });
});

describe('provisional AQI of the open hour', () => {
  const six = { so2: 20, no2: 50, co: 1.2, o3: 60, pm10: 120, pm25: 80 };

  it('is the HJ 633-2026 hourly AQI of the running means, once 10 minutes are covered from the hour on', () => {
    const h = new OpenHour(H);
    for (let i = 0; i < 9; i++) h.add({ ts: H + i * MIN + 5000, m: six, f: {} });
    expect(h.provisional()).toMatchObject({ aqi: null, why: 'short', minutes: 9 });
    // A faulty reading (flag D) is left out of the means, as ingest leaves it out.
    h.add({ ts: H + 9 * MIN + 5000, m: { ...six, pm25: 900 }, f: { pm25: 'D' } });
    h.add({ ts: H + 10 * MIN + 5000, m: six, f: {} });
    const p = h.provisional();
    const want = computeAqi({ so2: 20, no2: 50, co: 1.2, o3_1h: 60, pm10: 120, pm25: 80 }, '2026', 'hourly');
    expect(p).toMatchObject({
      aqi: want.aqi,
      level: want.level!.level,
      primary: want.primary,
      minutes: 11,
      elapsed: 11,
    });
    expect(p.aqi).toBe(119); // the hour of docs/protocol.md §5.3, whose closed AQI is 119
  });

  it('is not given to a viewer that joined more than 15 minutes into the hour, nor under HJ 633-2012', () => {
    const late = new OpenHour(H);
    for (let i = 16; i < 40; i++) late.add({ ts: H + i * MIN, m: six, f: {} });
    expect(late.provisional()).toMatchObject({ aqi: null, why: 'late' });
    const old = new OpenHour(Date.UTC(2026, 0, 10, 2));
    for (let i = 0; i < 20; i++) old.add({ ts: Date.UTC(2026, 0, 10, 2) + i * MIN, m: six, f: {} });
    expect(old.provisional()).toMatchObject({ aqi: null, why: 'edition' });
  });

  it('starts again when a reading of the next hour arrives', () => {
    const r = new Readings();
    for (let i = 0; i < 12; i++) r.add(air(H + i * MIN, six));
    expect(r.provisional('aq-1')!.aqi).toBe(119);
    r.add(air(H + 60 * MIN, six));
    expect(r.provisional('aq-1')).toMatchObject({ hour: H + 60 * MIN, why: 'short', minutes: 1 });
  });
});

describe('units and comparisons', () => {
  it('takes units from the registry, gases of emission kinds in mg/m³', () => {
    expect(unitOf('pm25', 'air.micro')).toBe('µg/m³');
    expect(unitOf('so2', 'air.station')).toBe('µg/m³');
    expect(unitOf('so2', 'stack.cems')).toBe('mg/m³');
    expect(unitOf('so2_zsavg', 'stack.cems')).toBe('mg/m³');
    expect(unitOf('no_ppm', 'rsd')).toBe('ppm');
    expect(unitOf('ph', 'water.outfall')).toBe('');
    expect(unitOf('passes', 'rsd')).toBe('');
  });

  it('reads each rule as the comparison it makes', () => {
    const x = (rule: string, field: string, v: number, l: number, kind = '') =>
      exceedanceText(exceedance(rule, field, v, l, kind));
    expect(x('rsd-repeat', 'passes', 2, 2, 'rsd')).toBe('2 passes ≥ 2');
    expect(x('rsd-pass', 'no_ppm', 1650, 1500, 'rsd')).toBe('1650 > 1500 ppm');
    expect(x('ultra-low', 'so2', 37.5, 35, 'stack.cems')).toBe('37.5 > 35 mg/m³');
    expect(x('gb3838-III', 'do', 4.1, 5, 'water.surface')).toBe('4.1 < 5 mg/L');
    expect(x('aqi-hour', 'aqi', 215, 200, 'air.station')).toBe('AQI 215 > 200');
    expect(x('gb20952-al', 'al', 2, 0.5, 'vapor')).toBe('level 2 (alarm)');
    expect(exceedanceText(exceedance('rsd-repeat', 'passes', 3, 2), 'zh')).toBe('3 次 ≥ 2 次');
  });
});

describe('console tables', () => {
  const v = new NetworkView(t);
  v.onMessage(
    t.live('stack.cems', 'cems-1'),
    JSON.stringify({ dev: 'cems-1', kind: 'stack.cems', ts: H, m: { so2: 37.5, o2: 8 }, f: { o2: 'C' } }),
  );
  v.onMessage(t.live('air.micro', 'aq-1'), airLive('aq-1', 'air.micro', H));
  v.onMessage(t.alert('rsd-1'), rsdRepeat('rsd-1', H));

  it('heads every reading column with its name and unit, and marks flagged values', () => {
    const html = readingsTables(v, H, () => false);
    expect(html).toContain('<span title="so2">SO2 <span class="unit">(mg/m³)</span></span>');
    expect(html).toContain('<span title="pm25">PM2.5 <span class="unit">(µg/m³)</span></span>');
    expect(html).toMatch(
      /<span data-field="o2">8<\/span> <abbr class="flag flag-C" title="HJ 212 flag C: calibration">C<\/abbr>/,
    );
    expect(readingsTables(v, H, (r) => r.dev === 'aq-1')).toContain('<tr data-dev="aq-1" class="stale">');
  });

  it("shows the latest closed hour's AQI with its hour and HJ 633 colour, and why there is no provisional one", () => {
    const html = airTable(v, H);
    expect(html).toContain('09:00–10:00');
    expect(html).toContain('<span class="aqi" style="background:#FF7E00;color:#111">107</span>');
    expect(html).toContain('lightly polluted');
    expect(html).toContain('1 of 10 min so far');
  });

  it('heads every alarm and event column, and reads a repeat offender as an exceedance', () => {
    const html = eventsTable(v.events, H);
    const heads = [...html.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
    expect(heads).toEqual(['Time', 'State', 'Device', 'Rule', 'Field', 'Value vs limit', 'Vehicle']);
    expect(html).toContain('<td>2 passes ≥ 2</td>');
    expect(html).toContain('蒙A·D1234 · diesel');
    expect(alarmsTable([], H)).toContain('<td class="muted" colspan="7">none</td>');
  });
});

describe('alarm history in the page', () => {
  const DAY = 86_400_000;

  it('asks for the day before now, or before the oldest open alarm, to an hour after the newest', () => {
    expect(wantedRange([], H)).toEqual({ since: H - DAY, until: H + 3_600_000 });
    expect(wantedRange([{ since: H - 5 * DAY }, { since: H - DAY }], H)).toEqual({
      since: H - 6 * DAY,
      until: H + 3_600_000,
    });
    // At most what the API reads at once.
    expect(wantedRange([{ since: H - 400 * DAY }], H).since).toBe(H + 3_600_000 - 91 * DAY);
  });

  it('merges stored and live events once each, newest first', () => {
    const e = (state: string, ts: number) => ({
      dev: 'cems-1',
      kind: 'stack.cems',
      rule: 'ultra-low',
      field: 'so2',
      state,
      ts,
      since: H,
      value: 37.5,
      limit: 35,
    });
    const stored = [{ ...e('open', H), state: 'open' as const, peak: 37.5 }];
    expect(mergeEvents([e('update', H + 60_000), e('open', H)], stored).map((x) => x.state)).toEqual([
      'update',
      'open',
    ]);
  });
});

describe('languages', () => {
  it("starts in the language chosen before, else the browser's", () => {
    expect(initialLang('en', 'zh-CN')).toBe('en');
    expect(initialLang(null, 'zh-CN')).toBe('zh');
    expect(initialLang(null, 'en-GB')).toBe('en');
    expect(initialLang('fr', 'de')).toBe('en');
  });

  it('draws the tables in Chinese: headings, states, field names, flags and comparisons', () => {
    setLang('zh');
    try {
      const events = eventsTable(new NetworkView(t).events, H);
      expect([...events.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1])).toEqual([
        '时间',
        '状态',
        '设备',
        '规则',
        '监测项',
        '数值与限值',
        '车辆',
      ]);
      const v = new NetworkView(t);
      v.onMessage(
        t.live('stack.cems', 'cems-1'),
        JSON.stringify({ dev: 'cems-1', kind: 'stack.cems', ts: H, m: { o2: 8, flue_t: 50 }, f: { o2: 'C' } }),
      );
      const html = readingsTables(v, H, () => false);
      expect(html).toContain('<span title="flue_t">烟气温度 <span class="unit">(°C)</span></span>');
      expect(html).toContain('title="HJ 212 数据标记 C：校准"');
      expect(airTable(v, H)).toContain('<td class="muted" colspan="8">无</td>');
    } finally {
      setLang('en');
    }
  });
});
