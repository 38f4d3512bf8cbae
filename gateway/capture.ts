// The gateway's own count of each device's data capture, for status/{gw} (docs/protocol.md §5.2): per
// device, the minutes of the hour in progress and of the last closed hour (Beijing hours, on the
// gateway's clock) that hold a valid sample, as ingest counts them for the `capture` measurement (§7.9)
// — but seen at the edge, so a silent device shows while its hour is still open, whatever ingest knows.
import type { SampleRecord } from '../protocol/envelope.ts';
import { countsForCapture, gapsOf, minutesIn, VALID_MINUTES } from '../protocol/capture.ts';
import type { DeviceCapture } from '../protocol/messages.ts';
import { HOUR, MINUTE } from '../protocol/time.ts';

export interface CaptureDevice {
  id: string;
  /** The poll period, for a polled device; a pushing device's cadence is what its samples show. */
  cadenceMs?: number;
}

interface DeviceMinutes {
  cadenceMs?: number;
  /** The smallest spacing seen between two samples of a pushing device, and its newest sample time. */
  seenMs?: number;
  lastTs?: number;
  /** Minute marks ('1' = a valid sample) of the hour in progress and the one before, by hour start. */
  hours: Map<number, string[]>;
}

/** Rounded to 3 decimals, as the `capture` measurement writes it. */
const rateOf = (got: number) => Math.round((got / 60) * 1000) / 1000;

export class CaptureCounter {
  private devices = new Map<string, DeviceMinutes>();
  /** The first whole minute the gateway watched: minutes before it are neither got nor lost. */
  private readonly since: number;

  constructor(
    devices: CaptureDevice[],
    private readonly now: () => number = Date.now,
  ) {
    for (const d of devices)
      this.devices.set(d.id, { ...(d.cadenceMs ? { cadenceMs: d.cadenceMs } : {}), hours: new Map() });
    this.since = Math.ceil(this.now() / MINUTE) * MINUTE;
  }

  /** Marks the record's minute, when it counts and falls in the hour in progress or the one before. */
  record(r: SampleRecord): void {
    const d = this.devices.get(r.dev);
    if (!d || !countsForCapture(r)) return;
    if (d.cadenceMs === undefined && (r.agg === undefined || r.agg === 'rt')) this.observe(d, r.ts);
    const hour = Math.floor(r.ts / HOUR) * HOUR;
    const current = Math.floor(this.now() / HOUR) * HOUR;
    if (hour > current || hour < current - HOUR) return;
    this.forget(d, current);
    let marks = d.hours.get(hour);
    if (!marks) d.hours.set(hour, (marks = Array<string>(60).fill('0')));
    marks[Math.floor((r.ts - hour) / MINUTE)] = '1';
  }

  /** A pushing device's cadence: the smallest spacing between real-time samples in a row. */
  private observe(d: DeviceMinutes, ts: number): void {
    if (d.lastTs !== undefined && ts > d.lastTs) d.seenMs = Math.min(d.seenMs ?? Infinity, ts - d.lastTs);
    if (d.lastTs === undefined || ts > d.lastTs) d.lastTs = ts;
  }

  /** Hours before the last closed one are dropped. */
  private forget(d: DeviceMinutes, current: number): void {
    for (const h of d.hours.keys()) if (h < current - HOUR) d.hours.delete(h);
  }

  /** Each device's capture now. */
  status(): Record<string, DeviceCapture> {
    const now = this.now();
    const current = Math.floor(now / HOUR) * HOUR;
    const out: Record<string, DeviceCapture> = {};
    for (const [id, d] of this.devices) {
      this.forget(d, current);
      const marks = d.hours.get(current) ?? Array<string>(60).fill('0');
      // Minutes of this hour already over, since the gateway watched: those with no sample are lost.
      const from = Math.max(0, (this.since - current) / MINUTE);
      const to = Math.floor((now - current) / MINUTE);
      let lost = 0;
      for (let m = from; m < to; m++) if (marks[m] !== '1') lost++;
      const got = minutesIn(marks);
      const cadence = d.cadenceMs ?? d.seenMs;
      const c: DeviceCapture = {
        cadence_s: cadence === undefined ? null : cadence / 1000,
        cadence_from: d.cadenceMs !== undefined ? 'config' : 'observed',
        hour: { start: current, got, lost, rate: rateOf(got) },
      };
      if (this.since <= current - HOUR) c.last_hour = closedHour(d.hours.get(current - HOUR), current - HOUR);
      out[id] = c;
    }
    return out;
  }
}

function closedHour(marks: string[] | undefined, start: number): NonNullable<DeviceCapture['last_hour']> {
  const m = marks ?? Array<string>(60).fill('0');
  const got = minutesIn(m);
  return { start, got, rate: rateOf(got), valid: got >= VALID_MINUTES, gaps: gapsOf(m, start) };
}
