// What counts toward the data-capture rate (有效数据捕集率), shared by ingest's `capture` measurement
// (docs/protocol.md §7.9) and the gateway's own count in status/{gw} (§5.2): a minute counts when it
// holds at least one valid real-time or minute sample; an hour is valid with ≥ 45 such minutes (GB 3095
// Table 4; HJ 212-2017 Appendix C). Beijing time is UTC+8 all year, so its hours start with UTC's.
import type { SampleRecord } from './envelope.ts';
import { beijingText, MINUTE } from './time.ts';

export const VALID_MINUTES = 45;

/** A record counts when one of its readings is valid data: no flag, or flag N (HJ 212 Table C.1). */
export function hasValidReading(r: SampleRecord): boolean {
  if (!r.f) return true;
  for (const k in r.m) if (r.f[k] === undefined || r.f[k] === 'N') return true;
  return false;
}

/** Sampling that counts: not interval data (hour, day) and not events (vehicle passes), with a valid reading. */
export const countsForCapture = (r: SampleRecord): boolean =>
  r.kind !== 'rsd' && (r.agg === undefined || r.agg === 'rt' || r.agg === 'min') && hasValidReading(r);

/** Minutes of an hour with a valid sample. */
export const minutesIn = (marks: readonly string[]): number => marks.reduce((n, x) => n + (x === '1' ? 1 : 0), 0);

/** Runs of missing minutes on a Beijing clock, e.g. "10:05-10:12,10:40-10:59"; "" when none. */
export function gapsOf(marks: readonly string[], hour: number): string {
  const runs: string[] = [];
  const at = (m: number) => beijingText(hour + m * MINUTE).slice(0, 5);
  for (let m = 0; m < 60; m++) {
    if (marks[m] === '1') continue;
    let end = m;
    while (end + 1 < 60 && marks[end + 1] !== '1') end++;
    runs.push(end === m ? at(m) : `${at(m)}-${at(end)}`);
    m = end;
  }
  return runs.join(',');
}
