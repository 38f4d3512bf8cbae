// GB 3838-2002 through the engine: each indicator against the target class (lake and river columns),
// the section's class (single-factor, 劣V beyond V) on live/ and in water_class, drinking-water sources,
// and outfalls on their own limits. Numbers: docs/standards/limits.md §6.
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../ingest/engine/alarms.ts';
import type { DeviceSettings } from '../../ingest/engine/devices.ts';
import { Engine, type Output } from '../../ingest/engine/engine.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import type { LiveWater } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { waterClass, waterLimit } from '../../standards/water.ts';

const NOW = { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 };
// 10:00 Beijing time, 2026-06-15, and four hours later.
const T = Date.UTC(2026, 5, 15, 2);
const T4 = T + 4 * 3_600_000;

interface Judged {
  events: AlarmEvent[];
  water?: LiveWater;
  points: string[];
}

function run(records: SampleRecord[], devices: Record<string, DeviceSettings> = {}, timing = NOW): Judged[] {
  let now = 0; // live/ goes out at most once a second per device: each record a second apart
  const e = new Engine(new Topics(), { timing, devices: new Map(Object.entries(devices)), clock: () => (now += 1000) });
  return records.map((r) => {
    const out: Output = e.process(r);
    const live = out.messages.find((m) => m.topic.includes('/live/'));
    return {
      events: out.messages
        .filter((m) => m.topic.includes('/alert/') && m.payload)
        .map((m) => JSON.parse(m.payload).event),
      water: live ? JSON.parse(live.payload).water : undefined,
      points: out.points,
    };
  });
}
const one = (
  m: Record<string, number>,
  devices: Record<string, DeviceSettings> = {},
  kind: SampleRecord['kind'] = 'water.surface',
) => run([{ dev: 'ws-1', kind, ts: T, m }], devices)[0]!;
const brief = (es: AlarmEvent[]) => es.map((e) => [e.rule, e.field, e.state, e.value, e.limit]);

describe('GB 3838 classes', () => {
  it('classes each indicator by Table 1, DO as a lower bound, a value equal to a limit within it', () => {
    expect(waterClass({ nh3n: 1.0, do: 5 }).cls).toBe(3);
    expect(waterClass({ nh3n: 1.01 }).cls).toBe(4);
    expect(waterClass({ do: 4.99 }).cls).toBe(4);
    expect(waterClass({ codmn: 2, cod: 15, bod5: 3, nh3n: 0.15, tp: 0.02, fluoride: 1.0, do: 7.5 }).cls).toBe(1);
    expect(waterClass({ cod: 40.1 }).cls).toBe(6);
    expect(waterClass({ ph: 9.2 }).cls).toBe(6);
  });

  it('has lake and river columns for total phosphorus, and total nitrogen for lakes only', () => {
    expect(waterLimit('tp', 3, 'river')).toEqual({ bound: 'max', limit: 0.2 });
    expect(waterLimit('tp', 3, 'lake')).toEqual({ bound: 'max', limit: 0.05 });
    expect(waterLimit('tn', 3, 'lake')).toEqual({ bound: 'max', limit: 1.0 });
    expect(waterLimit('tn', 3, 'river')).toBeUndefined();
    expect(waterClass({ tp: 0.08 }, 'river').cls).toBe(2);
    expect(waterClass({ tp: 0.08 }, 'lake').cls).toBe(4);
  });
});

describe('water judge: sections against their target class', () => {
  it('a class III river section with NH3-N 1.2 is class IV: the indicator and the section are worse than the target', () => {
    const j = one({ nh3n: 1.2, do: 6.5, codmn: 3 });
    expect(brief(j.events)).toEqual([
      ['gb3838-III', 'nh3n', 'open', 1.2, 1.0],
      ['gb3838-class', 'class', 'open', 4, 3],
    ]);
    expect(j.water).toEqual({
      class: 'IV',
      n: 4,
      target: 'III',
      worst: ['nh3n'],
      by: { codmn: 'II', nh3n: 'IV', do: 'II' },
    });
    expect(j.points.filter((p) => p.startsWith('water_class'))).toEqual([
      `water_class,dev=ws-1 class="IV",n=4,target="III",target_n=3,worst="nh3n" ${T}000000`,
    ]);
  });

  it('judges total phosphorus and nitrogen by the lake column in a lake or reservoir, and TN not at all in a river', () => {
    const lake = one({ tp: 0.08, tn: 1.2 }, { 'ws-1': { waterbody: 'lake' } });
    expect(brief(lake.events)).toEqual([
      ['gb3838-III', 'tp', 'open', 0.08, 0.05],
      ['gb3838-III', 'tn', 'open', 1.2, 1.0],
      ['gb3838-class', 'class', 'open', 4, 3],
    ]);
    const river = one({ tp: 0.08, tn: 1.2 });
    expect(river.events).toEqual([]);
    expect(river.water).toMatchObject({ class: 'II', worst: ['tp'] });
  });

  it('calls a section beyond V 劣V (class 6): COD 45, pH 9.5, DO 1.5', () => {
    const j = one({ cod: 45, ph: 9.5, do: 1.5 });
    expect(j.water).toMatchObject({ class: '劣V', n: 6, worst: ['do', 'cod', 'ph'] });
    expect(brief(j.events)).toEqual([
      ['gb3838-III', 'do', 'open', 1.5, 5],
      ['gb3838-III', 'cod', 'open', 45, 20],
      ['gb3838-class', 'class', 'open', 6, 3],
    ]);
  });

  it("uses the section's target: NH3-N 0.8 is within III and over II (0.5); and closes the class alarm when the section is back", () => {
    expect(one({ nh3n: 0.8 }).events).toEqual([]);
    const [a, b] = run(
      [
        { dev: 'ws-1', kind: 'water.surface', ts: T, m: { nh3n: 0.8 } },
        { dev: 'ws-1', kind: 'water.surface', ts: T4, m: { nh3n: 0.4 } },
      ],
      { 'ws-1': { targetClass: 2 } },
    );
    expect(brief(a!.events)).toEqual([
      ['gb3838-II', 'nh3n', 'open', 0.8, 0.5],
      ['gb3838-class', 'class', 'open', 3, 2],
    ]);
    expect(brief(b!.events)).toEqual([
      ['gb3838-II', 'nh3n', 'close', 0.4, 0.5],
      ['gb3838-class', 'class', 'close', 2, 2],
    ]);
  });

  it('leaves out values the sonde flagged, from the limits and from the class', () => {
    const j = one({ do: 1, nh3n: 0.3 }, {});
    expect(j.events.map((e) => e.field)).toEqual(['do', 'class']);
    const flagged = run([{ dev: 'ws-1', kind: 'water.surface', ts: T, m: { do: 1, nh3n: 0.3 }, f: { do: 'M' } }])[0]!;
    expect(flagged.events).toEqual([]);
    expect(flagged.water).toMatchObject({ class: 'II', by: { nh3n: 'II' } });
  });

  it('judges interval means (agg hour, `_avg`) as a rule of their own, at once', () => {
    const [j] = run(
      [{ dev: 'ws-1', kind: 'water.surface', ts: T, agg: 'hour', m: { nh3n_avg: 1.6 } }],
      {},
      {
        minDurationMs: 60_000,
        clearDurationMs: 60_000,
        hysteresis: 0.05,
      },
    );
    expect(brief(j!.events)).toEqual([
      ['gb3838-III/hour', 'nh3n', 'open', 1.6, 1.0],
      ['gb3838-class', 'class', 'open', 5, 3],
    ]);
  });
});

describe('water judge: drinking-water sources', () => {
  it('holds a source to class III even when the devices file sets a worse target, and to a better one when set', () => {
    const src = (t: 1 | 2 | 3 | 4 | 5) => one({ nh3n: 1.2 }, { 'ws-1': { targetClass: t } }, 'water.source');
    expect(brief(src(4).events)).toEqual([
      ['gb3838-III', 'nh3n', 'open', 1.2, 1.0],
      ['gb3838-class', 'class', 'open', 4, 3],
    ]);
    expect(src(2).events.map((e) => e.limit)).toEqual([0.5, 2]);
  });

  it("judges items outside GB 3838 Table 1's monitored set on the device's own limits", () => {
    const j = one({ petroleum: 0.08, nh3n: 0.3 }, { 'ws-1': { limits: { petroleum: 0.05 } } }, 'water.source');
    expect(brief(j.events)).toEqual([['gb3838-III', 'petroleum', 'open', 0.08, 0.05]]);
  });
});

describe('water judge: outfalls', () => {
  it('does not hold an outfall to GB 3838, only to its own discharge limits; hourly means at once', () => {
    expect(one({ cod: 45, nh3n: 5 }, {}, 'water.outfall').events).toEqual([]);
    expect(one({ cod: 45 }, {}, 'water.outfall').water).toBeUndefined();
    const [rt, hour] = run(
      [
        { dev: 'wo-1', kind: 'water.outfall', ts: T, m: { cod: 120, nh3n: 5 } },
        { dev: 'wo-1', kind: 'water.outfall', ts: T4, agg: 'hour', m: { cod_avg: 110, nh3n_avg: 9 } },
      ],
      { 'wo-1': { limits: { cod: 100, nh3n: 8 } } },
    );
    expect(brief(rt!.events)).toEqual([['outfall', 'cod', 'open', 120, 100]]);
    expect(brief(hour!.events)).toEqual([
      ['outfall/hour', 'cod', 'open', 110, 100],
      ['outfall/hour', 'nh3n', 'open', 9, 8],
    ]);
  });
});

describe('water judge: lifecycle', () => {
  it('opens on the first sample past a limit (a reading is an analyser cycle), and closes with the usual hysteresis and delay', () => {
    const timing = { minDurationMs: 60_000, clearDurationMs: 60_000, hysteresis: 0.05 };
    const s = (ts: number, nh3n: number): SampleRecord => ({ dev: 'ws-1', kind: 'water.surface', ts, m: { nh3n } });
    const out = run([s(T, 1.2), s(T4, 0.98), s(T4 + 3_600_000, 0.9), s(T4 + 7_200_000, 0.9)], {}, timing);
    expect(out.map((j) => brief(j.events.filter((e) => e.field === 'nh3n')))).toEqual([
      [['gb3838-III', 'nh3n', 'open', 1.2, 1.0]],
      [], // 0.98 is inside, but not by 5 %
      [], // 0.9 is clear: the close waits 60 s of sample time
      [['gb3838-III', 'nh3n', 'close', 0.9, 1.0]],
    ]);
  });
});
