// SIM-OUTFALL: the online monitors at a wastewater treatment plant's outfall (ST 32, HJ 212 packet C):
// flow following the town's day (lowest before dawn), pH, and COD, NH3-N, TP and TN analysers that
// run hourly and hold their result. The COD analyser calibrates daily at 02:00 (flag C). `excursion`
// is a treatment upset: COD and NH3-N several times their usual level.
import { smoothNoise } from '../random.ts';
import { bell, localHour, round, type Reading } from './reading.ts';
import { HOUR } from '../../protocol/time.ts';

export interface OutfallOptions {
  /** A treatment upset now: COD ≈ 150 mg/L, NH3-N ≈ 25 mg/L. */
  excursion?: boolean;
}

export function outfallReading(seed: number, t: Date, o: OutfallOptions = {}): Reading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const n = (period: number, k: number, at = s) => smoothNoise(seed * 53 + k, at, period);
  const flow = 180 * (0.6 + 0.3 * bell(h, 10, 6) + 0.25 * bell(h, 20, 3)) * (1 + 0.05 * n(900, 1));
  const cs = Math.floor((Math.floor(ms / HOUR) * HOUR) / 1000); // analysers: the last hour's result
  const a = (mid: number, span: number, k: number) => mid + span * n(6 * 3600, k, cs);
  const upset = o.excursion ? 1 : 0;
  const r: Reading = {
    m: {
      water_flow: round(flow, 1),
      ph: round(7.2 + 0.2 * n(3600, 2), 2),
      cod: round(a(32, 8, 3) + upset * 120, 1),
      nh3n: round(a(1.8, 0.6, 4) + upset * 23, 2),
      tp: round(a(0.3, 0.08, 5), 3),
      tn: round(a(10, 2, 6), 2),
    },
    f: {},
  };
  if (h >= 2 && h < 2 + 1 / 6) r.f.cod = 'C';
  return r;
}
