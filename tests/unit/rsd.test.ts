// Remote sensing of vehicle exhaust: per-pass limits by fuel type and the repeat-offender rule
// (standards/rsd.ts; docs/standards/limits.md §8), and how the engine reports them.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../ingest/engine/engine.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { judgePass, PlateHistory, RSD_DEFAULT_LIMITS, RSD_DEFAULTS } from '../../standards/rsd.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 2, 2);

describe('rsd: a pass against the limits of its fuel type', () => {
  const cases: [
    string,
    Record<string, number>,
    string | undefined,
    string | undefined,
    ReturnType<typeof judgePass>,
  ][] = [
    [
      'diesel within every limit',
      { no_ppm: 1500, opacity: 30, ringelmann: 1 },
      'diesel',
      undefined,
      { judged: true, exceeded: [] },
    ],
    [
      'diesel opacity just over 30 %',
      { no_ppm: 900, opacity: 30.1, ringelmann: 1 },
      'diesel',
      undefined,
      { judged: true, exceeded: [{ field: 'opacity', value: 30.1, limit: 30 }] },
    ],
    [
      'diesel over on NO and Ringelmann',
      { no_ppm: 1501, opacity: 12, ringelmann: 2 },
      'diesel',
      undefined,
      {
        judged: true,
        exceeded: [
          { field: 'ringelmann', value: 2, limit: 1 },
          { field: 'no_ppm', value: 1501, limit: 1500 },
        ],
      },
    ],
    [
      'diesel measuring NO only',
      { no_ppm: 2000 },
      'diesel',
      undefined,
      { judged: true, exceeded: [{ field: 'no_ppm', value: 2000, limit: 1500 }] },
    ],
    [
      'gasoline (no limits ship)',
      { co_pct: 3, hc_ppm: 900, no_ppm: 2500 },
      'gasoline',
      undefined,
      { judged: false, why: 'no limits for fuel type gasoline' },
    ],
    [
      'a pass the set marked invalid',
      { no_ppm: 3000 },
      'diesel',
      'plume too weak',
      { judged: false, why: 'invalid pass: plume too weak' },
    ],
    ['no fuel type', { no_ppm: 3000 }, undefined, undefined, { judged: false, why: 'no fuel type' }],
    [
      'no judged reading',
      { speed: 40 },
      'diesel',
      undefined,
      { judged: false, why: 'none of opacity, ringelmann, no_ppm measured' },
    ],
  ];
  for (const [name, m, fuel, invalid, want] of cases)
    it(name, () => expect(judgePass(m, fuel, RSD_DEFAULT_LIMITS, invalid)).toEqual(want));

  it('judges gasoline once limits are configured', () => {
    expect(judgePass({ co_pct: 1.2, hc_ppm: 150 }, 'gasoline', { gasoline: { co_pct: 1, hc_ppm: 200 } })).toEqual({
      judged: true,
      exceeded: [{ field: 'co_pct', value: 1.2, limit: 1 }],
    });
  });
});

describe('rsd: exceedances per plate in a sliding window', () => {
  it("counts a plate's exceedances within the window, once per pass time", () => {
    const h = new PlateHistory(180 * DAY);
    expect(h.add('蒙A12345', T0)).toBe(1);
    expect(h.add('蒙A12345', T0)).toBe(1); // the same pass again (a replay or a second field)
    expect(h.add('蒙B00001', T0 + DAY)).toBe(1);
    expect(h.add('蒙A12345', T0 + 179 * DAY)).toBe(2);
    expect(h.add('蒙A12345', T0 + 360 * DAY)).toBe(1); // both earlier ones left the window
    h.prune(T0 + 400 * DAY);
    expect(h.size).toBe(1);
  });

  it('completes a window with a pass that arrives late, and never counts passes a window apart', () => {
    const h = new PlateHistory(180 * DAY);
    expect(h.add('P', T0 + 100 * DAY)).toBe(1);
    expect(h.add('P', T0)).toBe(2); // the earlier pass, delivered after the later one
    expect(h.add('P', T0 + 250 * DAY)).toBe(2); // pairs with day 100, not with day 0
    expect(h.add('Q', T0)).toBe(1);
    expect(h.add('Q', T0 + 180 * DAY)).toBe(1); // exactly a window apart
  });
});

const pass = (ts: number, plate: string, m: Record<string, number>, a: Record<string, string> = {}): SampleRecord => ({
  dev: 'rsd-01',
  kind: 'rsd',
  ts,
  m,
  a: { plate, fuel: 'diesel', ...a },
});

function events(e: Engine, r: SampleRecord) {
  const out = e.process(r);
  return {
    events: out.messages
      .filter((m) => m.topic.includes('/alert/'))
      .map((m) => ({ ...JSON.parse(m.payload).event, retain: m.retain })),
    live: out.messages.filter((m) => m.topic.includes('/live/')).map((m) => JSON.parse(m.payload)),
    points: out.points,
  };
}

describe('engine: remote-sensing passes', () => {
  it('reports a pass over its limit as an unretained event, and a plate over twice in the window as a high emitter', () => {
    let now = 0;
    const e = new Engine(new Topics(), { clock: () => (now += 2000) });
    const first = events(e, pass(T0, '蒙A·D1234', { no_ppm: 1800, opacity: 12, ringelmann: 0 }));
    expect(first.events).toEqual([
      {
        dev: 'rsd-01',
        rule: 'rsd-pass',
        field: 'no_ppm',
        state: 'event',
        ts: T0,
        since: T0,
        value: 1800,
        limit: 1500,
        peak: 1800,
        attrs: { fuel: 'diesel', plate: '蒙A·D1234' },
        retain: false,
      },
    ]);
    // In its millisecond, at an offset of its own (docs/protocol.md §7.1).
    expect(first.points[0]).toMatch(
      new RegExp(
        `^alert,dev=rsd-01,field=no_ppm,rule=rsd-pass state="event",value=1800,limit=1500,peak=1800,since=${T0},kind="rsd",fuel="diesel",plate="蒙A·D1234" ${T0}\\d{6}$`,
      ),
    );
    expect(first.live[0]).toMatchObject({
      dev: 'rsd-01',
      a: { plate: '蒙A·D1234' },
      verdict: { judged: true, over: ['no_ppm'] },
    });
    // A clean pass of another vehicle, then the same plate over again 30 days later.
    expect(events(e, pass(T0 + 60_000, '蒙A·C0001', { no_ppm: 400, opacity: 5 })).events).toEqual([]);
    const second = events(e, pass(T0 + 30 * DAY, '蒙A·D1234', { opacity: 41 }));
    expect(second.events.map((x) => [x.rule, x.field, x.value, x.limit])).toEqual([
      ['rsd-pass', 'opacity', 41, 30],
      ['rsd-repeat', 'passes', 2, 2],
    ]);
    expect(e.alarms.open('rsd-01')).toEqual([]); // events open nothing
  });

  it("does not judge invalid passes, and applies a device's own limits to the fuel tables that judge that reading", () => {
    const e = new Engine(new Topics(), { devices: new Map([['rsd-01', { limits: { opacity: 25 } }]]) });
    expect(events(e, pass(T0, 'X1', { opacity: 90 }, { invalid: 'no plate read' })).live[0].verdict).toEqual({
      judged: false,
      why: 'invalid pass: no plate read',
    });
    expect(events(e, pass(T0 + 5000, 'X2', { opacity: 26 })).events.map((x) => x.limit)).toEqual([25]);
  });

  it('counts passes stored before a restart, and follows configured counts and windows', () => {
    const e = new Engine(new Topics(), { rsd: { ...RSD_DEFAULTS, count: 3, windowDays: 30 } });
    e.restorePlates([
      { plate: 'P', ts: T0 - 40 * DAY },
      { plate: 'P', ts: T0 - 20 * DAY },
      { plate: 'P', ts: T0 - DAY },
    ]);
    const ev = events(e, pass(T0, 'P', { no_ppm: 2000 })).events;
    expect(ev.map((x) => [x.rule, x.value, x.limit])).toEqual([
      ['rsd-pass', 2000, 1500],
      ['rsd-repeat', 3, 3],
    ]);
  });
});
