// SIM-VOC: NMHC at the in-plant monitoring point of an auto-repair paint shop (GB 37822-2019 Table A.1,
// 10 mg/m³ as the 1-h mean; docs/standards/limits.md §4). The shop works 08:30–18:00, Monday to Saturday, with
// spray cycles of 20–40 min in most hours (NMHC 3–8 mg/m³ outside the booth) and 0.5–1.5 mg/m³ idle;
// the activated carbon saturates over a 60-day replacement cycle, so spray peaks grow; rarely the
// treatment is bypassed. The FID analyser calibrates daily at 07:00 (10 min, flag C). THC is NMHC
// plus methane. `excursion` forces a spray cycle with the treatment bypassed.
import { hash01, smoothNoise } from '../random.ts';
import { clamp, localDay, localHour, round, weekday, type Reading } from './reading.ts';

export interface VocOptions {
  /** Spraying now with the treatment bypassed: NMHC far past 10 mg/m³. */
  excursion?: boolean;
}

export interface VocReading extends Reading {
  working: boolean;
  spraying: boolean;
}

export function vocReading(seed: number, t: Date, o: VocOptions = {}): VocReading {
  const ms = t.getTime();
  const s = Math.floor(ms / 1000);
  const h = localHour(ms);
  const n = (period: number, k: number) => smoothNoise(seed * 43 + k, s, period);
  const working = o.excursion || (weekday(ms) !== 0 && h >= 8.5 && h < 18);
  // A spray cycle in most working hours, 20–40 min, starting somewhere in the hour.
  const hour = Math.floor(s / 3600);
  const start = hash01(seed, hour, 1) * 30;
  const len = 20 + hash01(seed, hour, 2) * 20;
  const minute = (s % 3600) / 60;
  const spraying = o.excursion || (working && hash01(seed, hour, 3) < 0.7 && minute >= start && minute < start + len);
  const saturation = ((localDay(ms) + seed * 7) % 60) / 60;
  const bypass = o.excursion || hash01(seed, localDay(ms), 4) < 0.01;
  const idle = 0.9 + 0.4 * n(1800, 5);
  const spray = spraying ? (bypass ? 24 : 4 + 3 * saturation ** 3) * (1 + 0.2 * n(180, 6)) : 0;
  const nmhc = idle + spray + (working ? 0.4 : 0);
  const ch4 = 1.3 + 0.1 * n(3600, 7);
  const r: VocReading = {
    m: {
      nmhc: round(clamp(nmhc, 0, 500), 2),
      ch4: round(ch4, 2),
      thc: round(clamp(nmhc, 0, 500) + ch4, 2),
      gas_flow: round(working ? 4.5 + 0.3 * n(600, 8) : 0, 2),
    },
    f: {},
    working,
    spraying,
  };
  if (h >= 7 && h < 7 + 1 / 6) r.f = { nmhc: 'C', ch4: 'C', thc: 'C' };
  return r;
}
