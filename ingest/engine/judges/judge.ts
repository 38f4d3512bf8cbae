// What every judge of a device family implements, and the call it gets for one record. The engine
// (engine.ts) routes each record to its family's judge through the table in index.ts and owns what is
// common to all: the alarm lifecycle, alert/ messages and rows, live/ messages, the replay guard.
import type { SampleRecord } from '../../../protocol/envelope.ts';
import type { LiveReading } from '../../../protocol/messages.ts';
import type { AlarmEvent, Threshold } from '../alarms.ts';
import type { DeviceSettings } from '../devices.ts';

export interface Timing {
  minDurationMs: number;
  clearDurationMs: number;
  hysteresis: number;
}
export const DEFAULT_TIMING: Timing = { minDurationMs: 60_000, clearDurationMs: 60_000, hysteresis: 0.05 };

/** Where a judge's findings go. */
export interface Findings {
  /** Holds a value against a threshold in sample time; the lifecycle event, if any, goes out with the record. */
  observe(t: Threshold, ts: number, value: number): void;
  /** A finding that opens nothing (a vehicle pass over its limit). */
  event(e: AlarmEvent): void;
  /** Rows to write besides the record itself (aqi rows). */
  points: string[];
  /** What the record's live/ message carries besides its reading. */
  live: Pick<LiveReading, 'aqi' | 'verdict' | 'water'>;
  /** The record closed a period whose results live/ must carry at once, at QoS 1 (an hour's AQI). */
  closedPeriod: boolean;
}

/** One record being judged: what the judge reads, and where its findings go. */
export interface JudgeCall extends Findings {
  r: SampleRecord;
  /** The gateway the record came through ('' when unknown). */
  gw: string;
  s: DeviceSettings;
  timing: Timing;
}

export interface Judge {
  /** Judges one real-time or interval record. */
  judge(c: JudgeCall): void;
  /**
   * After a restart: where the stored samples to replay begin, given the newest one stored (the data's
   * clock). Families without running state have none.
   */
  replayFrom?(newest: number): number;
  /** Feeds a stored sample into the device's running state; nothing is judged. */
  replay?(r: SampleRecord, s: DeviceSettings): void;
  /** The device's open period [start, end) after a replay, whose re-sent samples must not count twice. */
  openPeriod?(dev: string): { start: number; end: number } | undefined;
  /** Rows due once an envelope's records are all judged (hours revised by late samples). */
  flush?(): string[];
  /**
   * What a device's live/ message carries from the family's running state (an air device's AQI block).
   * Asked only when a live/ message goes out, at most once a second per device, not for every record.
   */
  liveState?(dev: string): Pick<LiveReading, 'aqi'>;
}

/** Flags that make a value unusable for judging a limit (HJ 212: stopped, maintenance, fault, calibration, comms). */
const UNUSABLE = new Set(['F', 'M', 'D', 'C', 'B']);

/** Whether the record holds a value of `field` fit to be judged. */
export const usable = (r: SampleRecord, field: string): boolean =>
  r.m[field] !== undefined && !UNUSABLE.has(r.f?.[field] ?? 'N');

/** A threshold on raw readings, with the lifecycle's timing (minimum duration, hysteresis). */
export const limit = (
  rule: string,
  field: string,
  value: number,
  timing: Timing,
  bound: 'max' | 'min' = 'max',
): Threshold => ({ rule, field, limit: value, bound, ...timing });

/** A threshold without hysteresis for values that are already judgements (hourly means, AQI, levels). */
export const plain = (
  rule: string,
  field: string,
  value: number,
  minDurationMs = 0,
  clearDurationMs = 0,
): Threshold => ({ rule, field, limit: value, bound: 'max', minDurationMs, clearDurationMs, hysteresis: 0 });
