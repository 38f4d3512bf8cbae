// The air quality index of HJ 633-2012 (observations before 2026-03-01) and HJ 633-2026 (from then on):
// IAQI per pollutant with ceiling rounding, AQI, level, primary and (2012) exceeding pollutants, and the
// 2026 completeness rule (docs/standards/aqi.md §3–7).
import { BREAKPOINTS, IAQI_STEPS, levelOf, type Column, type Level } from './aqi-tables.ts';
import { EDITION_2026_FROM } from './editions.ts';

export type Edition = '2012' | '2026';
export type Report = 'daily' | 'hourly';

export function editionAt(ts: number): Edition {
  return ts >= EDITION_2026_FROM ? '2026' : '2012';
}

/**
 * Concentrations in µg/m³ (CO mg/m³). Daily report: 24-h means, `o3_8h` = daily max 8-h mean, `o3_1h`
 * = daily max 1-h mean (2012 only). Hourly report: 1-h means of so2, no2, co, o3_1h; `o3_8h` = 8-h
 * moving mean (2012); `pm10`/`pm25` = 24-h moving means (2012) or 1-h means (2026); `so2_24h` = the
 * 24-h moving mean used when SO2 1-h exceeds 800 under 2012 rules.
 */
export interface AqiInput {
  so2?: number | null;
  no2?: number | null;
  co?: number | null;
  pm10?: number | null;
  pm25?: number | null;
  o3_1h?: number | null;
  o3_8h?: number | null;
  so2_24h?: number | null;
}

export interface AqiResult {
  edition: Edition;
  report: Report;
  /** IAQI by indicator: SO2, NO2, CO, PM10, PM2.5, and O3 (2026) or O3_1h / O3_8h (2012, which uses both). */
  iaqi: Record<string, number>;
  /** Max IAQI, or null when no indicator could be computed. */
  aqi: number | null;
  level: Level | null;
  primary: string[];
  /** Pollutants with IAQI > 100 (HJ 633-2012 only; the 2026 edition dropped the concept). */
  exceeding?: string[];
  /** Every indicator of the report was present and valid. */
  complete: boolean;
  /** What to publish: the AQI, or "NA" (HJ 633-2026 §5.3.1: incomplete data and AQI ≤ 100). */
  published: number | 'NA' | null;
  /** Special rules applied and inputs set aside, in words. */
  notes: string[];
}

/** IAQI by eq. (1), rounded up; capped at 500 above the table (the standard leaves that case open). */
export function iaqi(c: number, bp: readonly number[]): { value: number; capped: boolean } {
  const top = bp.length - 1;
  if (c >= bp[top]!) return { value: c === bp[top] ? IAQI_STEPS[top]! : 500, capped: c > bp[top]! };
  let i = 1;
  while (c > bp[i]!) i++;
  const [bLo, bHi, iLo, iHi] = [bp[i - 1]!, bp[i]!, IAQI_STEPS[i - 1]!, IAQI_STEPS[i]!];
  // Computed as one fraction and nudged before the ceiling, so that 106.25000000000001 does not become 107.
  const raw = iLo + ((iHi - iLo) * (c - bLo)) / (bHi - bLo);
  return { value: Math.ceil(raw - 1e-9), capped: false };
}

/** GB/T 8170 rounding (half to even) to `digits` decimals, as HJ 633-2026 §4.2.2 requires before the IAQI. */
export function roundHalfEven(x: number, digits = 0): number {
  const f = 10 ** digits;
  const y = x * f;
  const r = Math.round(y);
  const isHalf = Math.abs(Math.abs(y - Math.trunc(y)) - 0.5) < 1e-9;
  return (isHalf ? (Math.floor(y) % 2 === 0 ? Math.floor(y) : Math.ceil(y)) : r) / f;
}

interface Indicator {
  name: string;
  pollutant: string;
  input: keyof AqiInput;
  column: Column;
}

/** Which indicators feed each report (docs/standards/aqi.md §5). */
function indicators(edition: Edition, report: Report): Indicator[] {
  const I = (name: string, pollutant: string, input: keyof AqiInput, column: Column): Indicator => ({
    name,
    pollutant,
    input,
    column,
  });
  if (edition === '2012') {
    return report === 'daily'
      ? [
          I('SO2', 'SO2', 'so2', 'so2_24h'),
          I('NO2', 'NO2', 'no2', 'no2_24h'),
          I('CO', 'CO', 'co', 'co_24h'),
          I('PM10', 'PM10', 'pm10', 'pm10_24h'),
          I('PM2.5', 'PM2.5', 'pm25', 'pm25_24h'),
          I('O3_1h', 'O3', 'o3_1h', 'o3_1h'),
          I('O3_8h', 'O3', 'o3_8h', 'o3_8h'),
        ]
      : [
          I('SO2', 'SO2', 'so2', 'so2_1h'),
          I('NO2', 'NO2', 'no2', 'no2_1h'),
          I('CO', 'CO', 'co', 'co_1h'),
          I('O3_1h', 'O3', 'o3_1h', 'o3_1h'),
          I('O3_8h', 'O3', 'o3_8h', 'o3_8h'),
          I('PM10', 'PM10', 'pm10', 'pm10_24h'),
          I('PM2.5', 'PM2.5', 'pm25', 'pm25_24h'),
        ];
  }
  return report === 'daily'
    ? [
        I('SO2', 'SO2', 'so2', 'so2_24h'),
        I('NO2', 'NO2', 'no2', 'no2_24h'),
        I('CO', 'CO', 'co', 'co_24h'),
        I('PM10', 'PM10', 'pm10', 'pm10_24h'),
        I('PM2.5', 'PM2.5', 'pm25', 'pm25_24h'),
        I('O3', 'O3', 'o3_8h', 'o3_8h'),
      ]
    : [
        I('SO2', 'SO2', 'so2', 'so2_1h'),
        I('NO2', 'NO2', 'no2', 'no2_1h'),
        I('CO', 'CO', 'co', 'co_1h'),
        I('O3', 'O3', 'o3_1h', 'o3_1h'),
        I('PM10', 'PM10', 'pm10', 'pm10_24h'),
        I('PM2.5', 'PM2.5', 'pm25', 'pm25_24h'),
      ];
}

/** Indicators a 2012 report may go without (each has a stand-in): the O3 1-h/8-h pair of the real-time report. */
const OPTIONAL_2012 = new Set(['O3_8h']);

export function computeAqi(input: AqiInput, edition: Edition, report: Report): AqiResult {
  const bp = BREAKPOINTS[edition];
  const iaqis: Record<string, number> = {};
  const notes: string[] = [];
  let complete = true;
  const valid = (k: keyof AqiInput): number | null => {
    const v = input[k];
    if (v === undefined || v === null) return null;
    if (!Number.isFinite(v) || v < 0) {
      notes.push(`${k} ${v} is invalid and was left out`);
      return null;
    }
    if (edition === '2026') return roundHalfEven(v, k === 'co' ? 1 : 0);
    return v;
  };
  for (const ind of indicators(edition, report)) {
    const c = valid(ind.input);
    if (c === null) {
      if (!(edition === '2012' && OPTIONAL_2012.has(ind.name))) complete = false;
      continue;
    }
    if (ind.column === 'so2_1h' && c > 800) {
      if (edition === '2026') {
        iaqis[ind.name] = 200;
        notes.push('SO2 1-h > 800: IAQI 200 (HJ 633-2026 Table 3 note b)');
        continue;
      }
      const c24 = valid('so2_24h');
      notes.push('SO2 1-h > 800: SO2 IAQI from the 24-h mean (HJ 633-2012 Table 1 note 2)');
      if (c24 === null) {
        complete = false;
        continue;
      }
      iaqis[ind.name] = iaqi(c24, bp.so2_24h).value;
      continue;
    }
    if (ind.column === 'o3_8h' && c > 800) {
      if (edition === '2026') {
        iaqis[ind.name] = 300;
        notes.push('O3 8-h > 800: IAQI 300 (HJ 633-2026 Table 3 note c)');
        continue;
      }
      notes.push('O3 8-h > 800: O3 IAQI from the 1-h value (HJ 633-2012 Table 1 note 3)');
      continue;
    }
    const r = iaqi(c, bp[ind.column]);
    if (r.capped) notes.push(`${ind.input} ${c} is beyond the table: IAQI capped at 500`);
    iaqis[ind.name] = r.value;
  }
  const values = Object.values(iaqis);
  const aqi = values.length ? Math.max(...values) : null;
  const pollutantOf = (name: string) => indicators(edition, report).find((i) => i.name === name)!.pollutant;
  const names = (pred: (v: number) => boolean) =>
    [
      ...new Set(
        Object.entries(iaqis)
          .filter(([, v]) => pred(v))
          .map(([k]) => pollutantOf(k)),
      ),
    ].sort();
  const result: AqiResult = {
    edition,
    report,
    iaqi: iaqis,
    aqi,
    level: aqi === null ? null : levelOf(aqi),
    primary: aqi !== null && aqi > 50 ? names((v) => v === aqi) : [],
    complete,
    published: aqi === null ? null : edition === '2026' && !complete && aqi <= 100 ? 'NA' : aqi,
    notes,
  };
  if (edition === '2012') result.exceeding = names((v) => v > 100);
  return result;
}
