// Heavy-pollution weather warning levels (docs/standards/aqi.md §9), applied to observed rolling 24-hour AQI
// values, one a hour. Rule set `hohhot-2019` (呼和浩特市重污染天气应急预案 2019): yellow > 200 for 48 h;
// orange > 200 for 72 h; red > 200 for 96 h with > 300 for 48 h, or 500. Below yellow, `pre-warning`
// (temporary control measures): > 150, or > 100 for 48 h. A warning lifts after 36 h below yellow.

export type WarningLevel = 'none' | 'pre-warning' | 'yellow' | 'orange' | 'red';
export const WARNING_RANK: Record<WarningLevel, number> = { none: 0, 'pre-warning': 1, yellow: 2, orange: 3, red: 4 };
export const WARNING_LIFT_HOURS = 36;

/** Consecutive hours, counting back from the newest, that satisfy `pred`. */
function run(series: number[], pred: (v: number) => boolean): number {
  let n = 0;
  for (let i = series.length - 1; i >= 0 && pred(series[i]!); i--) n++;
  return n;
}

/** The warning level for hourly rolling 24-h AQI values, newest last. */
export function warningLevel(series: number[]): WarningLevel {
  if (!series.length) return 'none';
  const latest = series[series.length - 1]!;
  const over200 = run(series, (v) => v > 200);
  const over300 = series.slice(series.length - over200).filter((v) => v > 300).length;
  if (latest >= 500 || (over200 >= 96 && over300 >= 48)) return 'red';
  if (over200 >= 72) return 'orange';
  if (over200 >= 48) return 'yellow';
  if (latest > 150 || run(series, (v) => v > 100) >= 48) return 'pre-warning';
  return 'none';
}
