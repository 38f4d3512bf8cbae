// The device-mix and cadence planner of `qingcheng load`: counts, cadences, the speed multiplier, how
// devices are dealt over gateways, and that every class's records pass the envelope decoder.
import { describe, expect, it } from 'vitest';
import { askedRate, HOHHOT, intervalOf, mixFrom, planGateways, scaleMix } from '../../cli/load/plan.ts';
import { FIELDS, recordOf } from '../../cli/load/records.ts';
import { decodeEnvelope, DEFAULT_LIMITS, encodeEnvelope } from '../../protocol/envelope.ts';

// Sample times are pinned: the planner and the records are functions of their inputs, never of the clock.
const TS = Date.UTC(2026, 3, 1, 4, 0, 0);

describe('the Hohhot plan', () => {
  it('holds the plan counts of each class', () => {
    const counts = Object.fromEntries(HOHHOT.map((c) => [c.kind, c.count]));
    expect(counts).toEqual({
      'air.station': 15,
      'air.micro': 57,
      'stack.cems': 345,
      fumes: 583,
      'stack.nh3slip': 50,
      vapor: 158,
      voc: 109,
      rsd: 30,
      'water.surface': 14,
      'water.source': 37,
      noise: 224,
    });
  });

  it('gives real-time classes a 30–60 s cadence and remote sensing events', () => {
    for (const c of HOHHOT) {
      if (c.kind === 'rsd') {
        expect(c.cadenceS).toBeNull();
        expect(c.eventsPerHour).toBeGreaterThanOrEqual(50);
        expect(c.eventsPerHour).toBeLessThanOrEqual(400);
      } else {
        expect(c.cadenceS).toBeGreaterThanOrEqual(30);
        expect(c.cadenceS).toBeLessThanOrEqual(60);
      }
    }
  });
});

describe('planGateways', () => {
  const total = HOHHOT.reduce((s, c) => s + c.count, 0);

  it('deals every device of the plan exactly once, the gateways within one device of each other', () => {
    const plans = planGateways(HOHHOT, 200, 1);
    expect(plans).toHaveLength(200);
    const devs = plans.flatMap((p) => p.devices.map((d) => d.dev));
    expect(devs).toHaveLength(total);
    expect(new Set(devs).size).toBe(total);
    const sizes = plans.map((p) => p.devices.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(new Set(plans.map((p) => p.gw)).size).toBe(200);
    expect(plans[0]!.gw).toBe('gw-load-001');
    for (const c of HOHHOT) {
      expect(plans.flatMap((p) => p.devices).filter((d) => d.kind === c.kind)).toHaveLength(c.count);
    }
  });

  it('sets each device to its class cadence, divided by the speed', () => {
    for (const speed of [1, 10, 100]) {
      const devices = planGateways(HOHHOT, 7, speed).flatMap((p) => p.devices);
      for (const c of HOHHOT) {
        const want = ((c.cadenceS ?? 3600 / c.eventsPerHour!) * 1000) / speed;
        for (const d of devices.filter((x) => x.kind === c.kind)) {
          expect(d.intervalMs).toBeCloseTo(want, 9);
          expect(d.event).toBe(c.cadenceS === null);
          expect(d.phaseMs).toBeGreaterThanOrEqual(0);
          expect(d.phaseMs).toBeLessThan(d.intervalMs);
        }
      }
    }
  });

  it('asks for records in proportion to the speed', () => {
    const r1 = askedRate(HOHHOT, 1);
    // 15/60 + 57/30 + 345/30 + 583/60 + 50/30 + 158/30 + 109/60 + 30 × 200/3600 + 14/60 + 37/60 + 224/60
    expect(r1).toBeCloseTo(
      15 / 60 +
        57 / 30 +
        345 / 30 +
        583 / 60 +
        50 / 30 +
        158 / 30 +
        109 / 60 +
        (30 * 200) / 3600 +
        14 / 60 +
        37 / 60 +
        224 / 60,
      9,
    );
    expect(askedRate(HOHHOT, 10)).toBeCloseTo(r1 * 10, 9);
    expect(askedRate(HOHHOT, 100)).toBeCloseTo(r1 * 100, 9);
    expect(() => intervalOf(HOHHOT[0]!, 0)).toThrow(/speed/);
  });

  it('refuses no gateways', () => {
    expect(() => planGateways(HOHHOT, 0, 1)).toThrow(/gateways/);
  });
});

describe('mixes', () => {
  it('takes counts per class and keeps the cadences', () => {
    const m = mixFrom('air.micro=5, noise=2');
    expect(m.map((c) => [c.kind, c.count, c.cadenceS])).toEqual([
      ['air.micro', 5, 30],
      ['noise', 2, 60],
    ]);
    expect(mixFrom('water.outfall=3')).toEqual([{ kind: 'water.outfall', prefix: 'wof', count: 3, cadenceS: 60 }]);
    expect(() => mixFrom('air.mikro=5')).toThrow(/unknown device class/);
    expect(() => mixFrom('noise=-1')).toThrow(/count/);
  });

  it('scales, keeping at least one device of each class', () => {
    const m = scaleMix(HOHHOT, 0.01);
    expect(m.find((c) => c.kind === 'fumes')!.count).toBe(6);
    expect(m.every((c) => c.count >= 1)).toBe(true);
  });
});

describe('records', () => {
  it('gives every class registry fields that the envelope decoder takes whole', () => {
    const kinds = [...new Set([...HOHHOT.map((c) => c.kind), ...(Object.keys(FIELDS) as (keyof typeof FIELDS)[])])];
    const records = kinds.flatMap((kind, i) =>
      Array.from({ length: 20 }, (_, k) => recordOf(`${kind.replace('.', '-')}-1`, kind, i, k, TS + k * 30_000)),
    );
    const env = encodeEnvelope({ v: 1, gw: 'gw-load-001', ep: 'ldtest', seq: 0, records });
    const decoded = decodeEnvelope(env, { ...DEFAULT_LIMITS, now: () => TS + 3_600_000 });
    expect(decoded.records).toHaveLength(records.length);
    expect(decoded.records.map((r) => r.m)).toEqual(records.map((r) => r.m));
  });

  it('is a function of device, seed, index and time', () => {
    expect(recordOf('cems-0001', 'stack.cems', 3, 7, TS)).toEqual(recordOf('cems-0001', 'stack.cems', 3, 7, TS));
  });
});
