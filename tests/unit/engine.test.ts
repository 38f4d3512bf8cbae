// The exceedance engine as a pure function of records: alarms, AQI rows and warning levels.
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../ingest/engine/alarms.ts';
import { Engine } from '../../ingest/engine/engine.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';

const HOUR = 3_600_000;
// Midnight Beijing time (16:00 UTC), in 2026 rules.
const T0 = Date.UTC(2026, 10, 1, 16);

function run(engine: Engine, hours: number, pm25At: (h: number) => number): { events: AlarmEvent[]; points: string[] } {
  const events: AlarmEvent[] = [];
  const points: string[] = [];
  for (let h = 0; h <= hours; h++) {
    for (let m = 0; m < 60; m++) {
      const r: SampleRecord = { dev: 'aq-1', kind: 'air.station', ts: T0 + h * HOUR + m * 60_000, m: { pm25: pm25At(h) } };
      const out = engine.process(r);
      points.push(...out.points);
      for (const msg of out.messages) if (msg.topic.includes('/alert/') && msg.payload) events.push(JSON.parse(msg.payload).event);
    }
  }
  return { events, points };
}

describe('engine: heavy-pollution watch', () => {
  it('raises yellow then orange warnings from the rolling 24-h AQI, lifts them 36 h below yellow, and flags consecutive days over 150', () => {
    const { events, points } = run(new Engine(new Topics()), 146, (h) => (h < 100 ? 200 : 30));
    const warn = events.filter((e) => e.rule === 'hohhot-2019').map((e) => [e.state, (e.ts - T0) / HOUR, e.value]);
    // PM2.5 200 → IAQI 250. The rolling mean is valid from hour 19 (20 hours); yellow after 48 h over 200,
    // orange after 72 h. At hour 106 the window holds 7 hours of 30 and 17 of 200: mean 150.4, rounded
    // to 150 → AQI 200, no longer over 200; 36 h later (level none by then) the warning lifts, dated 106.
    expect(warn).toEqual([['open', 66, 2], ['update', 90, 3], ['close', 106, 0]]);
    const days = events.filter((e) => e.rule === 'aqi-day').map((e) => [e.state, (e.ts - T0) / (24 * HOUR), e.value]);
    // Day 4 holds 4 hours of 200 and 20 of 30: mean 58.3, rounded to 58 → AQI 96.
    expect(days).toEqual([['open', 1, 250], ['close', 4, 96]]);
    expect(points.filter((p) => p.startsWith('aqi,dev=aq-1,period=day'))).toHaveLength(6);
    expect(points.find((p) => p.startsWith('aqi,dev=aq-1,period=hour') && p.endsWith(` ${T0 + 66 * HOUR}`))).toContain('warning="yellow"');
  });

  it('publishes the latest reading and hourly AQI on live/, retained, at most once a second per device', () => {
    let now = 0;
    const e = new Engine(new Topics(), new Map(), undefined, () => now);
    run(e, 1, () => 40);
    const live = (o: ReturnType<Engine['process']>) => o.messages.find((m) => m.topic === 'env/v1/live/air.station/aq-1');
    now += 999;
    expect(live(e.process({ dev: 'aq-1', kind: 'air.station', ts: T0 + 2 * HOUR - 1, m: { pm25: 41 } }))).toBeUndefined();
    now += 1;
    const msg = live(e.process({ dev: 'aq-1', kind: 'air.station', ts: T0 + 2 * HOUR, m: { pm25: 41 } }))!;
    expect(msg.retain).toBe(true);
    expect(JSON.parse(msg.payload)).toMatchObject({ dev: 'aq-1', m: { pm25: 41 }, aqi: { hour: T0 + HOUR, aqi: 'NA', level: 2, category: '良', primary: ['PM2.5'] } });
  });

  it('does not judge values an instrument flagged as invalid', () => {
    const e = new Engine(new Topics(), new Map(), { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 });
    const r = (so2: number, flag?: string): SampleRecord => ({ dev: 'c', kind: 'stack.cems', ts: T0 + so2, m: { so2 }, ...(flag ? { f: { so2: flag } } : {}) });
    expect(e.process(r(100, 'C')).points).toEqual([]);
    expect(e.process(r(101, 'D')).points).toEqual([]);
    expect(e.process(r(102, 'T')).points[0]).toMatch(/^alert,dev=c,field=so2,rule=ultra-low state="open"/);
  });
});
