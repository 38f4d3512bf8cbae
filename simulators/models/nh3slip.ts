// SIM-NH3SLIP: an ammonia-slip analyser (TDLAS) at the outlet of a coal-fired unit's SCR reactor
// (docs/standards/limits.md §4; profile scr-slip, 2.5 mg/m³). Healthy slip is 0.3–1.5 mg/m³, following the
// unit's load (higher by day); the catalyst ages over a two-year life, so slip creeps up until the
// layer is replaced; about once in a hundred hours the ammonia injection overshoots for up to an hour,
// slip jumps while outlet NOx falls below its set-point. The analyser blows back its probe every 4 h
// (5 min, flag M) and calibrates daily at 02:00 (10 min, flag C). `excursion` forces an over-injection.
import { hash01, smoothNoise } from '../random.ts';
import { bell, clamp, localDay, localHour, round, type Reading } from './reading.ts';

export interface Nh3SlipOptions {
  /** Ammonia over-injection now: slip well past 2.5 mg/m³. */
  excursion?: boolean;
}

export interface Nh3SlipReading extends Reading {
  /** Catalyst age in [0, 1) of its life. */
  catalystAge: number;
  overInjection: boolean;
}

const LIFE_DAYS = 730;

export function nh3SlipReading(seed: number, t: Date, o: Nh3SlipOptions = {}): Nh3SlipReading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const n = (period: number, k: number) => smoothNoise(seed * 41 + k, s, period);
  const load = 0.7 + 0.25 * bell(h, 14, 9) + 0.05 * n(3600, 1);
  const age = ((localDay(ms) + seed * 97) % LIFE_DAYS) / LIFE_DAYS;
  const hour = Math.floor(s / 3600);
  const episode = o.excursion || (hash01(seed, hour, 7) < 0.01 && (s % 3600) / 3600 < hash01(seed, hour, 8));
  const slip = (0.35 + 1.1 * age ** 2) * load * (1 + 0.12 * n(300, 2)) + (episode ? 4.5 + 1.5 * (n(120, 3) + 1) : 0);
  const nox = (episode ? 22 : 38) + 6 * n(600, 4);
  const r: Nh3SlipReading = {
    m: {
      nh3: round(clamp(slip, 0, 50), 2),
      nox: round(nox, 1),
      o2: round(6.2 + 0.6 * n(300, 5), 2),
      flue_t: round(355 + 15 * load + 4 * n(900, 6), 1),
    },
    f: {},
    catalystAge: age,
    overInjection: episode,
  };
  const minuteOfDay = Math.floor(h * 60);
  const flag = minuteOfDay >= 120 && minuteOfDay < 130 ? 'C' : minuteOfDay % 240 < 5 ? 'M' : undefined;
  if (flag) r.f.nh3 = flag;
  return r;
}
