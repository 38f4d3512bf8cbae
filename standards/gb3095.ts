// GB 3095 ambient air quality limits (docs/standards/limits.md §1): the 2012 edition before 2026-03-01,
// GB 3095-2026 transition limits until 2030-12-31 and its final limits from 2031-01-01 (Beijing time).
// Grade I applies in class-1 zones, Grade II in class-2 zones. µg/m³, CO mg/m³. Exceedance: value > limit.

import { EDITION_2026_FROM, GB3095_FINAL_FROM } from './editions.ts';

export type LimitSet = '2012' | '2026-transition' | '2026-final';
export type Averaging = 'annual' | '24h' | '1h' | '8h_max';
export type Grade = 1 | 2;

export function limitSetAt(ts: number): LimitSet {
  return ts >= GB3095_FINAL_FROM ? '2026-final' : ts >= EDITION_2026_FROM ? '2026-transition' : '2012';
}

type Table = Record<string, Partial<Record<Averaging, [number, number]>>>;

const T2012: Table = {
  so2: { annual: [20, 60], '24h': [50, 150], '1h': [150, 500] },
  no2: { annual: [40, 40], '24h': [80, 80], '1h': [200, 200] },
  co: { '24h': [4, 4], '1h': [10, 10] },
  o3: { '8h_max': [100, 160], '1h': [160, 200] },
  pm10: { annual: [40, 70], '24h': [50, 150] },
  pm25: { annual: [15, 35], '24h': [35, 75] },
  tsp: { annual: [80, 200], '24h': [120, 300] },
  nox: { annual: [50, 50], '24h': [100, 100], '1h': [250, 250] },
};

const T2026T: Table = {
  ...T2012,
  pm10: { annual: [40, 60], '24h': [50, 120] },
  pm25: { annual: [15, 30], '24h': [35, 60] },
};

const T2026F: Table = {
  ...T2012,
  so2: { annual: [20, 20], '24h': [50, 50], '1h': [150, 150] },
  no2: { annual: [30, 30], '24h': [50, 50], '1h': [200, 200] },
  pm10: { annual: [20, 50], '24h': [50, 100] },
  pm25: { annual: [10, 25], '24h': [25, 50] },
  nox: { annual: [40, 40], '24h': [70, 70], '1h': [250, 250] },
};

export const GB3095: Record<LimitSet, Table> = { '2012': T2012, '2026-transition': T2026T, '2026-final': T2026F };

/** The limit for a pollutant and averaging time, or undefined where the standard sets none. */
export function gb3095Limit(pollutant: string, averaging: Averaging, grade: Grade, set: LimitSet): number | undefined {
  return GB3095[set][pollutant]?.[averaging]?.[grade - 1];
}
