// Time in Qingcheng: epoch milliseconds (UTC) everywhere, on the wire and in the database. Beijing time
// (UTC+8 all year, no daylight saving) only where a standard or an operator counts in it: natural days
// and hours of the day (AQI days, vapour days, noise periods) and HJ 212's DataTime.
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const BEIJING_OFFSET_MS = 8 * HOUR;

/** Start of the Beijing natural day holding `ts`. */
export const beijingDayStart = (ts: number): number =>
  Math.floor((ts + BEIJING_OFFSET_MS) / DAY) * DAY - BEIJING_OFFSET_MS;

/** The hour of the day (0–23) on a Beijing clock. */
export const beijingHour = (ts: number): number => new Date(ts + BEIJING_OFFSET_MS).getUTCHours();

/** `YYYY-MM-DD hh:mm:ss` (or `hh:mm:ss`) on a Beijing clock, as operators read it. */
export const beijingText = (ts: number, withDate = false): string =>
  new Date(ts + BEIJING_OFFSET_MS)
    .toISOString()
    .replace('T', ' ')
    .slice(withDate ? 0 : 11, 19);
