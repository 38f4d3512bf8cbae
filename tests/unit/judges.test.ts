// The judges table and the families that had no tests of their own: each judge through the engine
// (the router), with the lifecycle's waiting switched off so one sample opens an alarm.
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../ingest/engine/alarms.ts';
import type { DeviceSettings } from '../../ingest/engine/devices.ts';
import { Engine } from '../../ingest/engine/engine.ts';
import { makeJudges } from '../../ingest/engine/judges/index.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { DEVICE_KINDS, type DeviceKind } from '../../protocol/kinds.ts';
import { Topics } from '../../protocol/topics.ts';

const NOW = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
// 10:00 and 23:00 Beijing time on 2026-06-15.
const DAY_10 = Date.UTC(2026, 5, 15, 2);
const NIGHT_23 = Date.UTC(2026, 5, 15, 15);

function judge(records: SampleRecord[], devices: Record<string, DeviceSettings> = {}): AlarmEvent[] {
  const e = new Engine(new Topics(), { timing: NOW, devices: new Map(Object.entries(devices)) });
  const events: AlarmEvent[] = [];
  for (const r of records) {
    for (const m of e.process(r).messages)
      if (m.topic.includes('/alert/') && m.payload) events.push(JSON.parse(m.payload).event);
  }
  return events;
}

describe('judges table', () => {
  it('has a judge for every device kind, one per family', () => {
    const { byKind } = makeJudges();
    expect(Object.keys(byKind).sort()).toEqual(Object.keys(DEVICE_KINDS).sort());
    const same = (a: DeviceKind, b: DeviceKind) => expect(byKind[a]).toBe(byKind[b]);
    same('air.station', 'air.micro');
    same('stack.cems', 'fumes');
    same('water.surface', 'water.source');
    expect(byKind.noise).not.toBe(byKind['water.surface']);
  });
});

describe('water judge', () => {
  it("holds each parameter against its section's GB 3838 target class, dissolved oxygen as a minimum", () => {
    const r = (dev: string, m: Record<string, number>): SampleRecord => ({ dev, kind: 'water.surface', ts: DAY_10, m });
    const events = judge([r('ws-1', { do: 4.2, nh3n: 0.8, codmn: 5 }), r('ws-2', { do: 6.5, nh3n: 0.8 })], {
      'ws-2': { targetClass: 2 },
    });
    // Class III (default): DO 4.2 < 5 opens; NH3-N 0.8 ≤ 1.0 and CODMn 5 ≤ 6 do not. Class II: NH3-N 0.8 > 0.5.
    expect(events.map((e) => [e.dev, e.rule, e.field, e.state, e.limit])).toEqual([
      ['ws-1', 'gb3838-III', 'do', 'open', 5],
      ['ws-1', 'gb3838-class', 'class', 'open', 3],
      ['ws-2', 'gb3838-II', 'nh3n', 'open', 0.5],
      ['ws-2', 'gb3838-class', 'class', 'open', 2],
    ]);
  });

  it('does not judge a value the sonde flagged as under maintenance', () => {
    expect(judge([{ dev: 'ws-1', kind: 'water.surface', ts: DAY_10, m: { do: 1 }, f: { do: 'M' } }])).toEqual([]);
  });
});

describe('noise judge', () => {
  it('judges no single Leq reading (GB 3096 limits hourly and period levels: judge-noise.test.ts), and at night Lmax against the night limit + 15 dB(A)', () => {
    const r = (ts: number, m: Record<string, number>): SampleRecord => ({ dev: 'ns-1', kind: 'noise', ts, m });
    expect(judge([r(DAY_10, { leq: 75, lmax: 90 })])).toEqual([]); // zone 2 by day: no Lmax rule
    const night = judge([r(NIGHT_23, { leq: 55, lmax: 70 })]);
    expect(night.map((e) => [e.rule, e.field, e.state, e.limit, e.value])).toEqual([
      ['gb3096-2-night-lmax', 'lmax', 'event', 65, 70],
    ]);
  });
});

describe('emission judge', () => {
  it('judges catering fumes against GB 18483 (2.0 mg/m³) and ammonia slip against the SCR profile without O2 conversion', () => {
    const events = judge([
      { dev: 'fu-1', kind: 'fumes', ts: DAY_10, m: { fumes: 2.4 } },
      { dev: 'nh-1', kind: 'stack.nh3slip', ts: DAY_10, m: { nh3: 3.1, o2: 9 } },
    ]);
    expect(events.map((e) => [e.dev, e.rule, e.field, e.limit, e.value])).toEqual([
      ['fu-1', 'gb18483-fumes', 'fumes', 2, 2.4],
      ['nh-1', 'scr-slip', 'nh3', 2.5, 3.1],
    ]);
  });
});
