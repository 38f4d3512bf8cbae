// SIM-RSD: a vehicle-exhaust remote-sensing set at a roadside (docs/standards/limits.md §8.4). Event based:
// one record per passing vehicle, 50–400 an hour by day and few at night; ~85 % gasoline cars, ~10 %
// diesel trucks and buses, the rest gas or new-energy; 20–40 % of passes invalid (more in the cold),
// tagged rather than dropped. Readings are long-tailed, and a fixed 2.5 % of the diesel fleet are high
// emitters, so a few percent of diesel passes break the limits and some plates come back to do it again.
// Like every model, a pure function of seed and time.
import type { SampleRecord } from '../../protocol/envelope.ts';
import { hash01 } from '../random.ts';
import { BEIJING_OFFSET_MS, HOUR } from '../../protocol/time.ts';

const PLATE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

export interface Vehicle {
  plate: string;
  colour: string;
  fuel: 'gasoline' | 'diesel' | 'gas' | 'nev';
  type: string;
  highEmitter: boolean;
}

/** Vehicle `i` of a fleet: the same vehicle every time, so plates come back. */
export function vehicle(fleetSeed: number, i: number): Vehicle {
  const u = hash01(fleetSeed, i, 1);
  const plate =
    '蒙A' +
    Array.from(
      { length: 5 },
      (_, k) => PLATE_CHARS[Math.floor(hash01(fleetSeed, i, 10 + k) * PLATE_CHARS.length)],
    ).join('');
  if (u < 0.85)
    return { plate, colour: 'blue', fuel: 'gasoline', type: 'car', highEmitter: hash01(fleetSeed, i, 2) < 0.03 };
  if (u < 0.95)
    return {
      plate,
      colour: 'yellow',
      fuel: 'diesel',
      type: hash01(fleetSeed, i, 3) < 0.7 ? 'truck' : 'bus',
      highEmitter: hash01(fleetSeed, i, 2) < 0.025,
    };
  if (u < 0.98) return { plate, colour: 'blue', fuel: 'gas', type: 'taxi', highEmitter: false };
  return {
    plate: plate.slice(0, 2) + 'D' + plate.slice(2),
    colour: 'green',
    fuel: 'nev',
    type: 'car',
    highEmitter: false,
  };
}

/** Passes per hour at Beijing hour-of-day h: a daytime hump, quiet nights. */
export function passesPerHour(h: number): number {
  return Math.round(50 + 350 * Math.max(0, Math.sin(((h - 6) / 16) * Math.PI)));
}

/** Long-tailed value: mostly in [lo, hi], sometimes out to `tail`. */
function tailed(u: number, v: number, lo: number, hi: number, tail: number): number {
  return u < 0.985 ? lo + (hi - lo) * v : hi + (tail - hi) * v * v;
}

export interface RsdSiteOptions {
  dev: string;
  seed: number;
  fleetSeed?: number;
  fleetSize?: number;
  temp?: (ts: number) => number;
}

/** The passes of one site within [from, to), in time order. */
export function passes(o: RsdSiteOptions, from: number, to: number): SampleRecord[] {
  const out: SampleRecord[] = [];
  const fleet = o.fleetSize ?? 2000;
  for (let h = Math.floor(from / HOUR) * HOUR; h < to; h += HOUR) {
    const n = passesPerHour(((h + BEIJING_OFFSET_MS) / HOUR) % 24);
    for (let k = 0; k < n; k++) {
      const ts = h + Math.floor(hash01(o.seed, h / HOUR, k, 1) * HOUR);
      if (ts < from || ts >= to) continue;
      out.push(
        pass(
          o,
          ts,
          vehicle(o.fleetSeed ?? 7, Math.floor(hash01(o.seed, h / HOUR, k, 2) * fleet)),
          hash01(o.seed, ts, 3),
        ),
      );
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** One pass of vehicle `v` at `ts`; `u` draws everything else. */
export function pass(o: RsdSiteOptions, ts: number, v: Vehicle, u: number): SampleRecord {
  const r = (k: number) => hash01(Math.floor(u * 2 ** 31), k);
  const temp = o.temp?.(ts) ?? 5;
  const m: Record<string, number> = {
    speed: Math.round(20 + 50 * r(1)),
    accel: Math.round((r(2) * 2 - 0.5) * 100) / 100,
    temp,
    rh: Math.round(30 + 40 * r(3)),
    ws: Math.round(r(4) * 60) / 10,
  };
  const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
  const high = v.highEmitter && r(5) < 0.8;
  if (v.fuel === 'diesel') {
    m.no_ppm = round(high ? 1600 + 1400 * r(6) : tailed(r(7), r(6), 200, 1400, 3000));
    m.opacity = round(high ? 32 + 28 * r(8) : tailed(r(9), r(8), 0, 20, 60), 1);
    m.ringelmann = high ? 2 + Math.floor(r(10) * 3) : r(11) < 0.995 ? Math.floor(r(10) * 2) : 2 + Math.floor(r(10) * 3);
    m.co2_pct = round(8 + 4 * r(12), 2);
  } else if (v.fuel !== 'nev') {
    m.co_pct = round(high ? 1.5 + 2.5 * r(6) : tailed(r(7), r(6), 0, 1, 4), 2);
    m.hc_ppm = round(high ? 400 + 1600 * r(8) : tailed(r(9), r(8), 0, 300, 2000));
    m.no_ppm = round(high ? 1200 + 1800 * r(10) : tailed(r(11), r(10), 0, 1000, 3000));
    m.co2_pct = round(12 + 3 * r(12), 2);
  }
  const a: Record<string, string> = { plate: v.plate, plate_color: v.colour, fuel: v.fuel, vehicle: v.type };
  // Invalid: 25 % normally, rising towards 60 % below −20 °C (plumes condense, plates frost over).
  const invalidShare = 0.25 + (temp < 0 ? Math.min(0.35, -temp / 60) : 0);
  if (v.fuel === 'nev') a.invalid = 'no exhaust (new-energy vehicle)';
  else if (r(13) < invalidShare)
    a.invalid = ['no plate read', 'plume too weak', 'outside the speed window'][Math.floor(r(14) * 3)]!;
  return { dev: o.dev, kind: 'rsd', ts, m, a };
}
