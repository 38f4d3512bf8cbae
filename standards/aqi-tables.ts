// HJ 633 breakpoint tables, levels and colours (docs/standards/aqi.md §3, §7). Concentrations in
// µg/m³, CO in mg/m³. Each column pairs with IAQI_STEPS from its first entry on.

export const IAQI_STEPS = [0, 50, 100, 150, 200, 300, 400, 500] as const;

export type Column =
  'so2_24h' | 'so2_1h' | 'no2_24h' | 'no2_1h' | 'pm10_24h' | 'co_24h' | 'co_1h' | 'o3_1h' | 'o3_8h' | 'pm25_24h';

const COMMON: Record<Column, readonly number[]> = {
  so2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  so2_1h: [0, 150, 500, 650, 800], // above 800 the edition's special rule applies
  no2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  no2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  pm10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  co_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  co_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  o3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  o3_8h: [0, 100, 160, 215, 265, 800], // above 800 the edition's special rule applies
  pm25_24h: [0, 35, 75, 115, 150, 250, 350, 500],
};

export const BREAKPOINTS: Record<'2012' | '2026', Record<Column, readonly number[]>> = {
  '2012': COMMON,
  // HJ 633-2026 Table 3: only the IAQI-100 breakpoints of PM10 (150 → 120) and PM2.5 (75 → 60) changed.
  '2026': {
    ...COMMON,
    pm10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
    pm25_24h: [0, 35, 60, 115, 150, 250, 350, 500],
  },
};

export interface Level {
  level: 1 | 2 | 3 | 4 | 5 | 6;
  zh: string;
  en: string;
  colour: string;
  colourZh: string;
  rgb: string;
}

export const LEVELS: readonly Level[] = [
  { level: 1, zh: '优', en: 'excellent', colour: 'green', colourZh: '绿色', rgb: '#00E400' },
  { level: 2, zh: '良', en: 'good', colour: 'yellow', colourZh: '黄色', rgb: '#FFFF00' },
  { level: 3, zh: '轻度污染', en: 'lightly polluted', colour: 'orange', colourZh: '橙色', rgb: '#FF7E00' },
  { level: 4, zh: '中度污染', en: 'moderately polluted', colour: 'red', colourZh: '红色', rgb: '#FF0000' },
  { level: 5, zh: '重度污染', en: 'heavily polluted', colour: 'purple', colourZh: '紫色', rgb: '#99004C' },
  { level: 6, zh: '严重污染', en: 'severely polluted', colour: 'maroon', colourZh: '褐红色', rgb: '#7E0023' },
];

export function levelOf(aqi: number): Level {
  const i = aqi <= 50 ? 0 : aqi <= 100 ? 1 : aqi <= 150 ? 2 : aqi <= 200 ? 3 : aqi <= 300 ? 4 : 5;
  return LEVELS[i]!;
}
