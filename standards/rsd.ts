// Motor-vehicle exhaust remote sensing (HJ 845-2017 for diesel, GB 18285-2018 for gasoline;
// docs/standards/limits.md §8). One record per vehicle pass; a pass over any limit of its fuel type is an
// exceedance, and a plate with `count` exceedances within `windowDays` is a high emitter.
//
// UNVERIFIED: none of the standards' limit tables could be read. The diesel numbers below are the ones
// commonly cited (opacity 30 %, Ringelmann grade 1, NO 1 500 ppm); no gasoline numbers are shipped, so
// gasoline passes are stored but not judged until limits are configured. The "≥ 2 exceedances within a
// period" rule is likewise the commonly cited one. Every number here is overridable (ingest --devices, `rsd:`).

/** Fuel types a set reports (docs/standards/limits.md §8.2); new-energy vehicles have no exhaust to judge. */
export const RSD_FUELS = ['gasoline', 'diesel', 'gas', 'methanol', 'nev'] as const;
export type RsdFuel = (typeof RSD_FUELS)[number];

/** Fields judged per pass, in the registry's units. */
export const RSD_FIELDS = ['no_ppm', 'hc_ppm', 'co_pct', 'opacity', 'ringelmann'] as const;

export type RsdLimits = Partial<Record<RsdFuel, Record<string, number>>>;

export const RSD_DEFAULT_LIMITS: RsdLimits = {
  diesel: { opacity: 30, ringelmann: 1, no_ppm: 1500 },
};

export interface RsdSettings {
  limits: RsdLimits;
  /** Exceedances of one plate within the window that make it a high emitter. */
  count: number;
  windowDays: number;
}

export const RSD_DEFAULTS: RsdSettings = { limits: RSD_DEFAULT_LIMITS, count: 2, windowDays: 180 };

export interface Exceedance {
  field: string;
  value: number;
  limit: number;
}

export type PassVerdict = { judged: true; exceeded: Exceedance[] } | { judged: false; why: string };

/**
 * Judges one pass. A pass the set marked invalid (`invalid` names why: no plate read, plume too weak,
 * outside the speed window), a fuel without limits, or one with none of the judged readings is not judged.
 */
export function judgePass(
  m: Record<string, number>,
  fuel: string | undefined,
  limits: RsdLimits,
  invalid?: string,
): PassVerdict {
  if (invalid !== undefined) return { judged: false, why: `invalid pass: ${invalid}` };
  if (fuel === undefined) return { judged: false, why: 'no fuel type' };
  const l = limits[fuel as RsdFuel];
  if (!l || Object.keys(l).length === 0) return { judged: false, why: `no limits for fuel type ${fuel}` };
  const present = Object.keys(l).filter((f) => m[f] !== undefined);
  if (present.length === 0) return { judged: false, why: `none of ${Object.keys(l).join(', ')} measured` };
  return {
    judged: true,
    exceeded: present.filter((f) => m[f]! > l[f]!).map((f) => ({ field: f, value: m[f]!, limit: l[f]! })),
  };
}

/**
 * Exceedance times per plate: `add` returns the most exceedances the plate has within one window that
 * contains this one. Passes may arrive out of time order (a gateway sends live data before its
 * backlog), so a late earlier pass still completes a pair. Bounded: plates with nothing left in the
 * window are dropped by `prune`, and a plate keeps at most its last 32 times.
 */
export class PlateHistory {
  private times = new Map<string, number[]>();
  constructor(private windowMs: number) {}

  add(plate: string, ts: number): number {
    const t = this.times.get(plate) ?? [];
    if (!t.includes(ts)) {
      t.push(ts);
      t.sort((a, b) => a - b);
      if (t.length > 32) t.shift();
      this.times.set(plate, t);
    }
    // Windows [s, s + W) that contain ts start at one of the plate's times in (ts - W, ts].
    let best = 0;
    for (const s of t) {
      if (s <= ts - this.windowMs || s > ts) continue;
      best = Math.max(best, t.filter((x) => x >= s && x < s + this.windowMs).length);
    }
    return best;
  }

  /** Forgets plates with nothing left in the window ending at `now`. */
  prune(now: number): void {
    for (const [p, t] of this.times) if (t[t.length - 1]! <= now - this.windowMs) this.times.delete(p);
  }

  get size(): number {
    return this.times.size;
  }
}
