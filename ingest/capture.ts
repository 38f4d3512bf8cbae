// Data-capture rate (有效数据捕集率), the figure regulators audit: per device and hour, the minutes that
// hold at least one valid real-time or minute sample, and per Beijing day, the valid hours. An hour is
// valid with ≥ 45 such minutes, a day with ≥ 20 valid hours (GB 3095 Table 4; HJ 212-2017 Appendix C
// for flue gas: 45 valid minutes an hour, 20 valid hours a day). Written as the `capture` measurement
// (docs/protocol.md §7.8), the open hour as it fills, each closed hour and day again whenever late data
// (a backlog replayed after an outage) changes it: the same point, overwritten.
import type { SampleRecord } from '../protocol/envelope.ts';
import { encodePoint } from '../protocol/line-protocol.ts';
import { beijingDayStart, beijingText, DAY, HOUR, MINUTE } from '../protocol/time.ts';
import { countsForCapture, gapsOf, minutesIn, VALID_MINUTES } from '../protocol/capture.ts';

export { gapsOf, VALID_MINUTES };
export const VALID_HOURS = 20;
/** Hours kept per device, back from its newest: late data older than this no longer changes a rate. */
const KEEP_HOURS = 48;

interface DeviceHours {
  kind: string;
  gw: string;
  /** The newest hour start seen. */
  newest: number;
  /** Minute marks ('1' = a valid sample) by hour start. */
  hours: Map<number, string[]>;
  dirtyHours: Set<number>;
  dirtyDays: Set<number>;
  /**
   * Hours before this one are not held (forgotten, or not read back at a restart): a day that begins
   * before it is not written again, since its missing hours would count as silent.
   */
  knownFrom: number;
  /** The minute (epoch ms ÷ 60,000) of the last sample marked. */
  lastMinute: number;
}

export class Capture {
  private devices = new Map<string, DeviceHours>();
  /**
   * Devices with hours or days to write: flush visits only these, not every device a worker knows. A day
   * held back because it is not over yet waits for the device's next record, the only thing that ends it.
   */
  private dirty = new Set<string>();
  /** Lines of hours and days written just before they were forgotten, for the next flush. */
  private pending: string[] = [];

  /** Marks the record's minute; interval data (hour, day) and events (vehicle passes) are not sampling. */
  record(gw: string, r: SampleRecord): void {
    const minute = Math.floor(r.ts / MINUTE);
    // A device's samples mostly come in order, several a minute: one in a minute just marked costs no more.
    const known = this.devices.get(r.dev);
    if (known !== undefined && known.lastMinute === minute && known.gw === gw) return;
    if (!countsForCapture(r)) return;
    const hour = Math.floor(r.ts / HOUR) * HOUR;
    const d = known ?? this.device(r.dev, r.kind, gw);
    d.gw = gw;
    if (hour <= d.newest - KEEP_HOURS * HOUR) return;
    if (hour > d.newest) this.advance(d, hour, r.dev);
    const marks = this.marksOf(d, hour);
    const m = minute - hour / MINUTE;
    d.lastMinute = minute;
    if (marks[m] === '1') return;
    marks[m] = '1';
    this.dirty.add(r.dev);
    d.dirtyHours.add(hour);
    d.dirtyDays.add(beijingDayStart(hour));
  }

  /** Lines for every hour and day changed since the last call. */
  flush(): string[] {
    const out = this.pending.splice(0);
    for (const dev of this.dirty) {
      const d = this.devices.get(dev)!;
      for (const hour of d.dirtyHours) if (d.hours.has(hour)) out.push(this.hourLine(dev, d, hour));
      d.dirtyHours.clear();
      this.flushDays(dev, d, out);
    }
    this.dirty.clear();
    return out;
  }

  /** A day is written once it is over (and again if late data changes it), if all its hours are held. */
  private flushDays(dev: string, d: DeviceHours, out: string[]): void {
    for (const day of d.dirtyDays) {
      if (day + DAY > d.newest) continue;
      if (day >= d.knownFrom) out.push(this.dayLine(dev, d, day));
      d.dirtyDays.delete(day);
    }
  }

  /**
   * Minute marks read back from the database after a restart, so the open hour goes on where it was.
   * `complete`: the device has no older hours than these (it was read back whole).
   */
  restore(dev: string, kind: string, gw: string, hour: number, minutes: string, complete = true): void {
    if (!/^[01]{60}$/.test(minutes)) return;
    const d = this.device(dev, kind, gw);
    if (hour > d.newest) d.newest = hour;
    if (!complete && (d.knownFrom === -Infinity || hour < d.knownFrom)) d.knownFrom = hour;
    const marks = this.marksOf(d, hour);
    for (let m = 0; m < 60; m++) if (minutes[m] === '1') marks[m] = '1';
  }

  private device(dev: string, kind: string, gw: string): DeviceHours {
    let d = this.devices.get(dev);
    if (!d) {
      d = {
        kind,
        gw,
        newest: -Infinity,
        hours: new Map(),
        dirtyHours: new Set(),
        dirtyDays: new Set(),
        knownFrom: -Infinity,
        lastMinute: -1,
      };
      this.devices.set(dev, d);
    }
    d.gw = gw;
    return d;
  }

  private marksOf(d: DeviceHours, hour: number): string[] {
    let marks = d.hours.get(hour);
    if (!marks) {
      marks = Array<string>(60).fill('0');
      d.hours.set(hour, marks);
    }
    return marks;
  }

  /**
   * A newer hour closes the ones before it. Hours the device skipped entirely (it was silent) are
   * written too, with nothing captured: a silent hour must count against the day.
   */
  private advance(d: DeviceHours, hour: number, dev: string): void {
    const prev = d.newest;
    d.newest = hour;
    this.dirty.add(dev);
    if (prev > -Infinity) {
      d.dirtyHours.add(prev); // closed now
      d.dirtyDays.add(beijingDayStart(prev));
      for (let h = Math.max(prev + HOUR, hour - KEEP_HOURS * HOUR); h < hour; h += HOUR) {
        this.marksOf(d, h);
        d.dirtyHours.add(h);
        d.dirtyDays.add(beijingDayStart(h));
      }
    }
    const old = [...d.hours.keys()].filter((h) => h <= hour - KEEP_HOURS * HOUR);
    if (!old.length) return;
    // What is about to be forgotten is written first: a closed hour, and the days that are over.
    for (const h of old) if (d.dirtyHours.has(h)) this.pending.push(this.hourLine(dev, d, h));
    this.flushDays(dev, d, this.pending);
    for (const h of old) {
      d.hours.delete(h);
      d.dirtyHours.delete(h);
    }
    d.knownFrom = Math.max(d.knownFrom, Math.max(...old) + HOUR);
  }

  private hourLine(dev: string, d: DeviceHours, hour: number): string {
    const marks = d.hours.get(hour)!;
    return capturePoint(dev, 'hour', d, hour, minutesIn(marks), 60, VALID_MINUTES, {
      closed: hour < d.newest,
      minutes: marks.join(''),
      gaps: gapsOf(marks, hour),
    });
  }

  private dayLine(dev: string, d: DeviceHours, day: number): string {
    const missing: string[] = [];
    let got = 0;
    for (let h = day; h < day + DAY; h += HOUR) {
      const marks = d.hours.get(h);
      if (marks && minutesIn(marks) >= VALID_MINUTES) got++;
      else missing.push(beijingText(h).slice(0, 2));
    }
    return capturePoint(dev, 'day', d, day, got, 24, VALID_HOURS, { closed: true, gaps: missing.join(',') });
  }
}

/** One `capture` point (docs/protocol.md §7.9): what was got of what was expected, and whether it is enough. */
function capturePoint(
  dev: string,
  period: 'hour' | 'day',
  d: DeviceHours,
  start: number,
  got: number,
  expected: number,
  enough: number,
  more: { closed: boolean; minutes?: string; gaps: string },
): string {
  const rate = Math.round((got / expected) * 1000) / 1000;
  return encodePoint({
    measurement: 'capture',
    tags: { dev, period },
    fields: { kind: d.kind, gw: d.gw, got, expected, rate, valid: got >= enough, ...more },
    ts: start,
  });
}
