// What a number means: the unit of a field (from the pollutant registry) and how an alarm's value
// stands against its limit, so that no screen shows a bare "1500" or "2, limit 2".
import { parseFieldName, pollutant } from '../protocol/pollutants.ts';
import { LEVELS } from '../standards/aqi-tables.ts';

/**
 * The registry gives ambient units (µg/m³) for gases that emission kinds report in mg/m³ (GB 13223 and
 * the emission profiles of docs/standards/limits.md state their limits in mg/m³, and so do the analyzers).
 */
const EMISSION_MG = new Set(['so2', 'no2', 'o3', 'pm25', 'pm10', 'pm1', 'tsp']);
const EMISSION_KINDS = /^(stack\.|fumes$|voc$)/;

/** The unit of a reading (`so2_zsavg` → its key's unit); '' when dimensionless or unknown. */
export function unitOf(field: string, kind = ''): string {
  const key = parseFieldName(field)?.key ?? field;
  if (EMISSION_MG.has(key) && EMISSION_KINDS.test(kind)) return 'mg/m³';
  const u = pollutant(key)?.unit ?? '';
  return u === '1' ? '' : u;
}

const SUFFIX: Record<string, string> = {
  zs: 'converted',
  min: 'min',
  max: 'max',
  avg: 'mean',
  cou: 'total',
  zsmin: 'converted min',
  zsavg: 'converted mean',
  zsmax: 'converted max',
};

/** The registry's name of a reading (`SO2 converted mean` for so2_zsavg); the field itself when it is not a reading. */
export function fieldName(field: string): string {
  const p = parseFieldName(field);
  if (!p) return field;
  return pollutant(p.key)!.name + (p.suffix ? ` ${SUFFIX[p.suffix]}` : '');
}

/** Rounded for reading: at most two decimals. */
export const num = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : '-');

/** How a value stands against its limit, by what the rule compares (docs/protocol.md §7.5). */
export interface Exceedance {
  value: number;
  limit: number;
  /** `>` over a maximum, `<` under a minimum (dissolved oxygen), `≥` a count reached. */
  op: '>' | '<' | '≥';
  unit: string;
  /** What the value counts, when it is not a quantity with a unit. */
  noun?: 'passes' | 'level' | 'warning' | 'AQI';
}

export function exceedance(rule: string, field: string, value: number, limit: number, kind = ''): Exceedance {
  if (rule === 'rsd-repeat') return { value, limit, op: '≥', unit: '', noun: 'passes' };
  if (rule.startsWith('gb20952-')) return { value, limit, op: '>', unit: '', noun: 'level' };
  if (rule === 'hohhot-2019') return { value, limit, op: '>', unit: '', noun: 'warning' };
  if (field === 'aqi') return { value, limit, op: '>', unit: '', noun: 'AQI' };
  // GB 3838 holds dissolved oxygen to a minimum; every other limit is a maximum.
  const op = rule.startsWith('gb3838-') && field === 'do' ? '<' : '>';
  return { value, limit, op, unit: unitOf(field, kind) };
}

const WARNINGS = ['none', 'pre-warning', 'yellow', 'orange', 'red'];
const WARNINGS_ZH = ['无', '预警', '黄色', '橙色', '红色'];
const VAPOUR = ['normal', 'warning', 'alarm'];
const VAPOUR_ZH = ['正常', '预警', '报警'];

/** "37.5 > 35 mg/m³", "2 passes ≥ 2", "4.1 < 5 mg/L", "AQI 215 > 200", "level 2 (alarm)". */
export function exceedanceText(e: Exceedance, lang: 'en' | 'zh' = 'en'): string {
  const u = e.unit ? ` ${e.unit}` : '';
  switch (e.noun) {
    case 'passes':
      return lang === 'zh' ? `${num(e.value)} 次 ≥ ${num(e.limit)} 次` : `${num(e.value)} passes ≥ ${num(e.limit)}`;
    case 'level':
      return lang === 'zh'
        ? `等级 ${num(e.value)}（${VAPOUR_ZH[e.value] ?? '?'}）`
        : `level ${num(e.value)} (${VAPOUR[e.value] ?? '?'})`;
    case 'warning':
      return lang === 'zh'
        ? `${WARNINGS_ZH[e.value] ?? e.value}预警`
        : `${WARNINGS[e.value] ?? e.value} warning (rank ${num(e.value)})`;
    case 'AQI':
      return `AQI ${num(e.value)} ${e.op} ${num(e.limit)}`;
    default:
      return `${num(e.value)} ${e.op} ${num(e.limit)}${u}`;
  }
}

/** A closed alarm: the value it came back to, and the limit. */
export function backText(e: Exceedance, lang: 'en' | 'zh' = 'en'): string {
  const u = e.unit ? ` ${e.unit}` : '';
  return lang === 'zh'
    ? `回到 ${num(e.value)}${u}（限值 ${num(e.limit)}）`
    : `back at ${num(e.value)}${u} (limit ${num(e.limit)})`;
}

/** HJ 633 colours by AQI level, 1–6. */
export const LEVEL_RGB = LEVELS.map((l) => l.rgb);
