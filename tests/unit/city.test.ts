import { describe, expect, it } from 'vitest';
import { CityWatch } from '../../ingest/engine/city.ts';
import { Topics } from '../../protocol/topics.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 1, 16); // midnight in Beijing
const live = (dev: string, kind: string, h: number, pm25: number, value = 0) =>
  JSON.stringify({
    dev,
    kind,
    ts: T0 + (h + 1) * HOUR,
    aqi: { hour: T0 + h * HOUR, aqi: value, value, primary: ['PM2.5'], aqi_24h: null, warning: 'none', c: { pm25 } },
  });

describe('city watch', () => {
  it('averages its national stations hour by hour, closing an hour once every station has reported it', () => {
    const c = new CityWatch('hohhot', new Topics());
    c.onLive(live('st-1', 'air.station', 0, 40));
    c.onLive(live('st-2', 'air.station', 0, 40));
    expect(c.onLive(live('st-1', 'air.station', 1, 40)).points).toEqual([]); // st-2 has not reported hour 1 yet
    const out = c.onLive(live('st-2', 'air.station', 1, 80, 210));
    const row = out.points.find((p) => p.startsWith('aqi,dev=city-hohhot,period=hour'))!;
    // (40 + 80) / 2 = 60 → PM2.5 IAQI 100 under 2026 rules.
    expect(row).toContain('c_pm25=60');
    expect(row).toContain('aqi=100');
    expect(row).toContain('stations=2,stations_over_200=1');
    expect(row.endsWith(` ${T0 + HOUR}000000`)).toBe(true); // ns: on the hour
    expect(out.messages.find((m) => m.topic === 'env/v1/live/city/city-hohhot')?.retain).toBe(true);
  });

  it('prefers national stations to micro-stations, and does not wait for a silent station', () => {
    const c = new CityWatch('hohhot', new Topics());
    c.onLive(live('aq-9', 'air.micro', 0, 300));
    c.onLive(live('st-1', 'air.station', 0, 40));
    c.onLive(live('st-2', 'air.station', 0, 40));
    // st-2 goes silent; st-1's next hour closes hour 1 of the city without it.
    const out = c.onLive(live('st-1', 'air.station', 1, 50));
    const row1 = c
      .onLive(live('st-1', 'air.station', 2, 50))
      .points.find((p) => p.startsWith('aqi,dev=city-hohhot,period=hour'))!;
    expect(out.points.some((p) => p.includes('c_pm25=300'))).toBe(false);
    expect(row1).toContain('c_pm25=50');
    expect(row1).toContain('stations=1,');
  });

  it('raises the city warning from its own rolling 24-h AQI', () => {
    const c = new CityWatch('hohhot', new Topics());
    const events: string[] = [];
    for (let h = 0; h <= 70; h++) {
      for (const st of ['st-1', 'st-2']) {
        for (const m of c.onLive(live(st, 'air.station', h, st === 'st-1' ? 180 : 220)).messages) {
          if (m.topic === 'env/v1/alert/city-hohhot' && m.payload)
            events.push(`${JSON.parse(m.payload).event.rule}:${JSON.parse(m.payload).event.state}`);
        }
      }
    }
    // City PM2.5 200 → AQI 250; the rolling mean is valid from hour 19, yellow after 48 h over 200; a day over 150 on day 0 and day 1.
    expect(events).toEqual(['aqi-day:open', 'hohhot-2019:open']);
  });
});
