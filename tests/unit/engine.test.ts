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
      const r: SampleRecord = {
        dev: 'aq-1',
        kind: 'air.station',
        ts: T0 + h * HOUR + m * 60_000,
        m: { pm25: pm25At(h) },
      };
      const out = engine.process(r);
      points.push(...out.points);
      for (const msg of out.messages)
        if (msg.topic.includes('/alert/') && msg.payload) events.push(JSON.parse(msg.payload).event);
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
    expect(warn).toEqual([
      ['open', 66, 2],
      ['update', 90, 3],
      ['close', 106, 0],
    ]);
    const days = events.filter((e) => e.rule === 'aqi-day').map((e) => [e.state, (e.ts - T0) / (24 * HOUR), e.value]);
    // Day 4 holds 4 hours of 200 and 20 of 30: mean 58.3, rounded to 58 → AQI 96.
    expect(days).toEqual([
      ['open', 1, 250],
      ['close', 4, 96],
    ]);
    expect(points.filter((p) => p.startsWith('aqi,dev=aq-1,period=day'))).toHaveLength(6);
    expect(
      points.find((p) => p.startsWith('aqi,dev=aq-1,period=hour') && p.endsWith(` ${T0 + 66 * HOUR}000000`)),
    ).toContain('warning="yellow"');
  });

  it('publishes the latest reading and hourly AQI on live/, retained, at most once a second per device', () => {
    let now = 0;
    const e = new Engine(new Topics(), { clock: () => now });
    run(e, 1, () => 40);
    const live = (o: ReturnType<Engine['process']>) =>
      o.messages.find((m) => m.topic === 'env/v1/live/air.station/aq-1');
    now += 999;
    expect(
      live(e.process({ dev: 'aq-1', kind: 'air.station', ts: T0 + 2 * HOUR - 1, m: { pm25: 41 } })),
    ).toBeUndefined();
    now += 1;
    const msg = live(e.process({ dev: 'aq-1', kind: 'air.station', ts: T0 + 2 * HOUR, m: { pm25: 41 } }))!;
    expect(msg.retain).toBe(true);
    expect(JSON.parse(msg.payload)).toMatchObject({
      dev: 'aq-1',
      m: { pm25: 41 },
      aqi: {
        hour: T0 + HOUR,
        aqi: 'NA',
        level: 2,
        category: '良',
        colour: '#FFFF00',
        primary: ['PM2.5'],
        aqi_24h: null,
        warning: 'none',
      },
    });
  });

  it('does not judge values an instrument flagged as invalid', () => {
    const e = new Engine(new Topics(), { timing: { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 } });
    const r = (so2: number, flag?: string): SampleRecord => ({
      dev: 'c',
      kind: 'stack.cems',
      ts: T0 + so2,
      m: { so2 },
      ...(flag ? { f: { so2: flag } } : {}),
    });
    expect(e.process(r(100, 'C')).points).toEqual([]);
    expect(e.process(r(101, 'D')).points).toEqual([]);
    expect(e.process(r(102, 'T')).points[0]).toMatch(/^alert,dev=c,field=so2,rule=ultra-low state="open"/);
  });
});

describe('engine: restart', () => {
  it('rebuilds its rolling windows from its hourly aqi rows: after a restart it writes what it would have', () => {
    const hourRows = (points: string[]) => points.filter((p) => p.startsWith('aqi,dev=aq-1,period=hour'));
    const whole = run(new Engine(new Topics()), 80, () => 200);
    // A worker dies after hour 69; a new one restores from the rows (as InfluxDB holds them) and the
    // retained open alarms, then sees hours 70–80.
    const before = new Engine(new Topics());
    const seen = run(before, 69, () => 200);
    const rows = hourRows(seen.points).map((p) => {
      const field = (k: string) => {
        const m = new RegExp(`[ ,]${k}=([\\d.]+)`).exec(p);
        return m ? Number(m[1]) : null;
      };
      const pm25 = field('c_pm25');
      return {
        hourStart: Number(p.slice(p.lastIndexOf(' ') + 1, -6)), // ns → ms
        means: pm25 === null ? {} : { pm25 },
        aqi24: field('aqi_24h'),
      };
    });
    const after = new Engine(new Topics());
    after.restoreAir('aq-1', rows);
    for (const a of before.alarms.open('aq-1')) after.alarms.restore('aq-1', a);
    const events: string[] = [];
    const points: string[] = [];
    for (let h = 70; h <= 80; h++)
      for (let m = 0; m < 60; m++) {
        const out = after.process({
          dev: 'aq-1',
          kind: 'air.station',
          ts: T0 + h * HOUR + m * 60_000,
          m: { pm25: 200 },
        });
        points.push(...out.points);
        for (const msg of out.messages)
          if (msg.topic.includes('/alert/') && msg.payload) events.push(JSON.parse(msg.payload).event.state);
      }
    expect(events).toEqual([]); // the yellow warning and the aqi-day alarm stay open; nothing is raised again
    const wanted = hourRows(whole.points).filter((p) => Number(p.slice(p.lastIndexOf(' ') + 1, -6)) >= T0 + 70 * HOUR);
    expect(hourRows(points)).toEqual(wanted);
    expect(wanted).toHaveLength(10);
    expect(wanted[5]).toContain('warning="yellow"');
  });
});

describe('engine: late samples', () => {
  it('a backlog sent after newer live data still fills its hours: their aqi rows are written again', () => {
    const at = (min: number): SampleRecord => ({
      dev: 'aq-7',
      kind: 'air.station',
      ts: T0 + min * 60_000,
      m: { pm25: 50 + (min % 60), so2: 10 },
    });
    const fields = (p: string) => {
      const [series, f, ts] = p.split(' ');
      const keep = Object.fromEntries(
        f!
          .split(',')
          .map((kv) => kv.split('=') as [string, string])
          .filter(([k]) => ['aqi', 'c_pm25', 'c_so2', 'aqi_24h', 'complete'].includes(k)),
      );
      return `${series} ${JSON.stringify(keep)} ${ts}`;
    };
    const rows = (points: string[]) => points.filter((p) => p.startsWith('aqi,dev=aq-7,period=hour')).map(fields);
    const inOrder = new Engine(new Topics());
    const wanted = rows(Array.from({ length: 181 }, (_, m) => at(m)).flatMap((r) => inOrder.process(r).points));
    expect(wanted).toHaveLength(3);
    // The link drops at minute 20 of hour 0 and comes back at hour 3: the gateway sends minute 180
    // first, then its backlog, oldest first, one envelope at a time.
    const e = new Engine(new Topics());
    const points: string[] = [];
    for (let m = 0; m < 20; m++) points.push(...e.process(at(m)).points);
    points.push(...e.process(at(180)).points, ...e.flushLate());
    expect(rows(points).map((r) => r.includes('c_pm25'))).toEqual([false, false, false]); // as they stood
    for (let m = 20; m < 180; m += 50) {
      for (let k = m; k < Math.min(m + 50, 180); k++) points.push(...e.process(at(k)).points);
      points.push(...e.flushLate());
    }
    const last = new Map(rows(points).map((r) => [r.split(' ')[2], r]));
    expect([...last.values()]).toEqual(wanted);
  });
});

describe('engine: replay of open periods after a restart', () => {
  const alertStates = (outs: ReturnType<Engine['process']>[]) =>
    outs.flatMap((o) =>
      o.messages
        .filter((m) => m.topic.includes('/alert/') && m.payload)
        .map((m) => {
          const e = JSON.parse(m.payload).event;
          return `${e.rule} ${e.state} ${e.ts} ${e.value}`;
        }),
    );

  it('an hour cut in two by a restart still has its valid mean, and a re-sent sample is not counted twice', () => {
    const sample = (min: number, pm25: number): SampleRecord => ({
      dev: 'aq-9',
      kind: 'air.station',
      ts: T0 + min * 60_000,
      m: { pm25 },
    });
    const hourRow = (e: Engine, samples: SampleRecord[]) =>
      samples.flatMap((r) => e.process(r).points).filter((p) => p.startsWith('aqi,dev=aq-9,period=hour'));
    const all = Array.from({ length: 60 }, (_, m) => sample(m, 20 + m));
    const next = sample(60, 10);
    const whole = hourRow(new Engine(new Topics()), [...all, next]);
    expect(whole[0]).toContain(`c_pm25=${(20 + 79) / 2}`);
    // The worker dies after minute 29; the new one replays minutes 0–29 from the database, then the
    // gateway re-sends minute 29 (its ack was lost) and goes on.
    const after = new Engine(new Topics());
    for (const r of all.slice(0, 30)) after.replay(r);
    after.replayDone();
    expect(hourRow(after, [all[29]!, ...all.slice(30), next])).toEqual(whole);
    // Without the replay, 30 minutes make no valid mean.
    expect(hourRow(new Engine(new Topics()), [...all.slice(30), next])[0]).not.toContain('c_pm25');
  });

  it('vapour days replayed after a restart keep their A/L tallies and 7-day counters', () => {
    // A nozzle with 30 % of its fuellings at A/L 0.7, 20 a day, for 8 days (docs/standards/limits.md §5.3 (a)).
    const DAY = 24 * HOUR;
    const recs: SampleRecord[] = [];
    for (let d = 0; d < 8; d++)
      for (let i = 0; i < 20; i++)
        recs.push({
          dev: 'vr-1',
          kind: 'vapor',
          ts: T0 + d * DAY + (i + 1) * 1_800_000,
          m: { al: i < 6 ? 0.7 : 1.0, fuel_l: 30 },
        });
    const one = new Engine(new Topics(), { timing: { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 } });
    const wanted = alertStates(recs.map((r) => one.process(r)));
    expect(wanted).toContain(`gb20952-al open ${T0 + DAY} 1`);
    expect(wanted).toContain(`gb20952-al update ${T0 + 7 * DAY} 2`);
    // Restart in the middle of day 6: the new worker restores the open alarm and replays the days.
    const cut = 5 * 20 + 10;
    const before = new Engine(new Topics(), { timing: { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 } });
    const seen = alertStates(recs.slice(0, cut).map((r) => before.process(r)));
    const after = new Engine(new Topics(), { timing: { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 } });
    for (const a of before.alarms.open('vr-1')) after.alarms.restore('vr-1', a);
    for (const r of recs.slice(0, cut)) after.replay(r);
    after.replayDone();
    expect([...seen, ...alertStates(recs.slice(cut - 1).map((r) => after.process(r)))]).toEqual(wanted);
  });
});

describe('engine: smokestack packets of docs/standards/hj212.md §9', () => {
  const instant = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
  const opens = (e: Engine, r: SampleRecord) =>
    e
      .process(r)
      .messages.filter((m) => m.topic.includes('/alert/') && m.payload)
      .map((m) => JSON.parse(m.payload).event);

  it('packet D (real-time ZsRtd): NOx exactly at its 50 mg/m³ limit is not an exceedance', () => {
    const e = new Engine(new Topics(), { timing: instant });
    const r: SampleRecord = {
      dev: 'cems-b001',
      kind: 'stack.cems',
      ts: T0,
      m: { dust: 4.5, dust_zs: 5, so2: 27, so2_zs: 30, nox: 45, nox_zs: 50, o2: 7.5, flue_t: 52.1, flow_v: 12.3 },
    };
    expect(opens(e, r)).toEqual([]);
    // The raw values converted with the measured O2 give the same: 45 × 15/13.5 = 50.
    const raw: SampleRecord = { ...r, ts: T0 + 1, m: { dust: 4.5, so2: 27, nox: 45, o2: 7.5 } };
    expect(opens(e, raw)).toEqual([]);
  });

  it('packet B (hourly ZsAvg): NOx 53.08 > 50 is an exceedance, dust and SO2 are not', () => {
    const e = new Engine(new Topics(), { timing: instant });
    const r: SampleRecord = {
      dev: 'cems-b001',
      kind: 'stack.cems',
      ts: T0,
      agg: 'hour',
      m: {
        dust_avg: 4.2,
        dust_zsavg: 4.85,
        so2_avg: 28,
        so2_zsavg: 32.31,
        nox_avg: 46,
        nox_zsavg: 53.08,
        o2_avg: 8,
        flue_t_avg: 52.3,
      },
    };
    expect(opens(e, r)).toEqual([
      expect.objectContaining({ rule: 'ultra-low/hour', field: 'nox', state: 'open', value: 53.08, limit: 50 }),
    ]);
  });
});

describe('engine: vapour recovery (GB 20952-2020)', () => {
  it('warns on a nozzle day with 30 % of A/L at 0.7, escalates on day 7, and alarms at once on 8 000 µmol/mol', () => {
    const e = new Engine(new Topics());
    const states: [string, number, number][] = [];
    const feed = (r: SampleRecord) => {
      for (const m of e.process(r).messages)
        if (m.topic.includes('/alert/') && m.payload) {
          const ev = JSON.parse(m.payload).event;
          states.push([`${ev.rule}:${ev.state}`, (ev.ts - T0) / (24 * HOUR), ev.value]);
        }
    };
    for (let d = 0; d < 8; d++)
      for (let i = 0; i < 20; i++) {
        feed({
          dev: 'vr-1-n01',
          kind: 'vapor',
          ts: T0 + d * 24 * HOUR + (8 + i / 4) * HOUR,
          m: { al: i < 6 ? 0.7 : 1.1, fuel_l: 30 },
        });
      }
    expect(states).toEqual([
      ['gb20952-al:open', 1, 1],
      ['gb20952-al:update', 7, 2],
    ]);
    feed({ dev: 'vr-1-c', kind: 'vapor', ts: T0 + HOUR, m: { vapor_conc: 8100 } });
    feed({ dev: 'vr-1-c', kind: 'vapor', ts: T0 + 2 * HOUR, m: { vapor_conc: 900 } });
    expect(states.slice(2).map((s) => s[0])).toEqual(['gb20952-conc:open', 'gb20952-conc:close']);
  });

  it('turns concentration warnings on 7 days in a row into an alarm (C-1)', () => {
    const e = new Engine(new Topics());
    const days: [string, number][] = [];
    for (let d = 0; d < 9; d++)
      for (const [h, v] of [
        [10, 4200],
        [11, 800],
      ] as const) {
        for (const m of e.process({
          dev: 'vr-2-c',
          kind: 'vapor',
          ts: T0 + d * 24 * HOUR + h * HOUR,
          m: { vapor_conc: v },
        }).messages) {
          const ev = m.payload && m.topic.includes('/alert/') ? JSON.parse(m.payload).event : null;
          if (ev?.rule === 'gb20952-conc-days') days.push([ev.state, (ev.ts - T0) / (24 * HOUR)]);
        }
      }
    // Days 0–6 each had a warning: judged at the start of day 7.
    expect(days).toEqual([['open', 7]]);
  });
});

describe('engine: the edition of GB 3095 follows the observation time, not the clock', () => {
  it('judges SO2 1-h means by the 2026 transition limit (500) until 2030-12-31 and by the final limit (150) from 2031-01-01 Beijing time', () => {
    const e = new Engine(new Topics());
    const switchAt = Date.UTC(2030, 11, 31, 16); // 2031-01-01 00:00 Beijing
    const events: AlarmEvent[] = [];
    // 200 µg/m³ of SO2 for the last hour of 2030 and the first hour of 2031, then one sample to close it.
    for (let m = -60; m <= 60; m++) {
      const out = e.process({ dev: 'aq-9', kind: 'air.station', ts: switchAt + m * 60_000, m: { so2: 200 } });
      for (const msg of out.messages)
        if (msg.topic.includes('/alert/') && msg.payload) events.push(JSON.parse(msg.payload).event);
    }
    const so2 = events.filter((x) => x.rule === 'gb3095-1h' && x.field === 'so2');
    expect(so2.map((x) => [x.state, x.ts, x.value, x.limit])).toEqual([['open', switchAt, 200, 150]]);
  });
});
