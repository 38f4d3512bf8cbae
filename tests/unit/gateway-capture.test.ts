// The gateway's own data-capture count (status/{gw} `capture`): minutes with a valid sample in the
// Beijing hour in progress and the last closed one, on a pinned clock.
import { describe, expect, it } from 'vitest';
import { CaptureCounter } from '../../gateway/capture.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { decodeStatus, PayloadError } from '../../protocol/messages.ts';
import { HOUR, MINUTE } from '../../protocol/time.ts';

/** 2024-01-15 09:00 Beijing time (01:00 UTC): Beijing hours start with UTC's. */
const H9 = Date.UTC(2024, 0, 15, 1);
const H10 = H9 + HOUR;

const rec = (dev: string, ts: number, more: Partial<SampleRecord> = {}): SampleRecord => ({
  dev,
  kind: 'air.micro',
  ts,
  m: { pm25: 30, pm10: 50 },
  ...more,
});

/** A counter over a polled micro-station, a silent one and a pushing logger, its clock moved by the test. */
function counter(startAt: number) {
  const clock = { now: startAt };
  const c = new CaptureCounter(
    [{ id: 'aq-1', cadenceMs: 1000 }, { id: 'aq-silent', cadenceMs: 1000 }, { id: 'st-1' }],
    () => clock.now,
  );
  return { c, clock };
}

describe('gateway capture count', () => {
  it('counts minutes with a valid sample per Beijing hour; the last closed hour with its gaps', () => {
    const { c, clock } = counter(H9);
    // 09:00–09:49: a sample every 20 s; then nothing until 10:00.
    for (let t = H9; t < H9 + 50 * MINUTE; t += 20_000) {
      clock.now = t;
      c.record(rec('aq-1', t));
    }
    clock.now = H9 + 59 * MINUTE + 59_999;
    expect(c.status()['aq-1']).toEqual({
      cadence_s: 1,
      cadence_from: 'config',
      hour: { start: H9, got: 50, lost: 9, rate: 0.833 },
    });
    // At 10:20:30, 10:00–10:09 sampled (uploads arrive late, but within the hour).
    clock.now = H10 + 20 * MINUTE + 30_000;
    for (let t = H10; t < H10 + 10 * MINUTE; t += 20_000) c.record(rec('aq-1', t));
    const s = c.status();
    expect(s['aq-1']).toEqual({
      cadence_s: 1,
      cadence_from: 'config',
      hour: { start: H10, got: 10, lost: 10, rate: 0.167 },
      last_hour: { start: H9, got: 50, rate: 0.833, valid: true, gaps: '09:50-09:59' },
    });
    expect(s['aq-silent']).toEqual({
      cadence_s: 1,
      cadence_from: 'config',
      hour: { start: H10, got: 0, lost: 20, rate: 0 },
      last_hour: { start: H9, got: 0, rate: 0, valid: false, gaps: '09:00-09:59' },
    });
    // An hour later, 10:00 is the last closed hour and 09:00 is forgotten.
    clock.now = H10 + HOUR + 5 * MINUTE;
    expect(c.status()['aq-1']!.last_hour).toEqual({
      start: H10,
      got: 10,
      rate: 0.167,
      valid: false,
      gaps: '10:10-10:59',
    });
  });

  it('a minute counts once, and only for a valid reading of real-time or minute data', () => {
    const { c, clock } = counter(H9);
    clock.now = H9 + 30 * MINUTE;
    c.record(rec('aq-1', H9 + 1000));
    c.record(rec('aq-1', H9 + 2000)); // the same minute
    c.record(rec('aq-1', H9 + MINUTE, { f: { pm25: 'C', pm10: 'M' } })); // nothing valid
    c.record(rec('aq-1', H9 + 2 * MINUTE, { f: { pm25: 'C' } })); // pm10 valid
    c.record(rec('aq-1', H9 + 3 * MINUTE, { agg: 'hour' })); // interval data
    c.record(rec('aq-1', H9 + 4 * MINUTE, { agg: 'min' }));
    c.record(rec('aq-1', H9 + 5 * MINUTE, { f: { pm25: 'N', pm10: 'N' } }));
    c.record(rec('nobody', H9 + 6 * MINUTE)); // not a device of the gateway
    expect(c.status()['aq-1']!.hour).toEqual({ start: H9, got: 4, lost: 26, rate: 0.067 });
  });

  it('samples of an hour before the last closed one, or ahead of the clock, are not counted', () => {
    const { c, clock } = counter(H9 - 2 * HOUR);
    clock.now = H10 + 5 * MINUTE;
    c.record(rec('aq-1', H9 - MINUTE)); // 08:59
    c.record(rec('aq-1', H10 + HOUR)); // 11:00, ahead
    c.record(rec('aq-1', H9 + 10 * MINUTE)); // a late sample of the last closed hour counts there
    expect(c.status()['aq-1']).toMatchObject({
      hour: { got: 0 },
      last_hour: { got: 1, gaps: '09:00-09:09,09:11-09:59' },
    });
  });

  it('a pushing device: its cadence is the spacing its real-time samples show', () => {
    const { c, clock } = counter(H9);
    clock.now = H9 + 10 * MINUTE;
    expect(c.status()['st-1']).toMatchObject({ cadence_s: null, cadence_from: 'observed' });
    for (const m of [0, 1, 3, 4]) c.record(rec('st-1', H9 + m * MINUTE, { kind: 'air.station' }));
    c.record(rec('st-1', H9 + 4 * MINUTE + 10_000, { kind: 'air.station', agg: 'min' })); // not real time
    expect(c.status()['st-1']).toMatchObject({ cadence_s: 60, hour: { got: 4, lost: 6 } });
  });

  it('an hour the gateway did not watch from its start has no last_hour; minutes before its start are not lost', () => {
    const { c, clock } = counter(H9 + 30 * MINUTE + 500); // first whole minute watched: 09:31
    clock.now = H9 + 40 * MINUTE;
    expect(c.status()['aq-silent']!.hour).toEqual({ start: H9, got: 0, lost: 9, rate: 0 });
    clock.now = H10 + MINUTE;
    expect(c.status()['aq-silent']!.last_hour).toBeUndefined();
    expect(c.status()['aq-silent']!.hour.lost).toBe(1);
    clock.now = H10 + HOUR;
    expect(c.status()['aq-silent']!.last_hour).toMatchObject({ start: H10, got: 0, valid: false });
  });
});

describe('status capture codec', () => {
  const base = {
    state: 'online',
    ts: 1,
    ep: 'e',
    next_seq: 0,
    acked: -1,
    outbox: {},
    uplink: {},
    devices: { up: [], degraded: [], down: [] },
    sampling: {},
  };
  const capture = {
    cadence_s: 1,
    cadence_from: 'config',
    hour: { start: H10, got: 10, lost: 10, rate: 0.167 },
    last_hour: { start: H9, got: 50, rate: 0.833, valid: true, gaps: '09:50-09:59' },
  };

  it('is optional, and decoded when present', () => {
    expect(decodeStatus(JSON.stringify(base))).toMatchObject({ state: 'online' });
    const s = decodeStatus(JSON.stringify({ ...base, capture: { 'aq-1': capture } }));
    expect(s.state === 'online' && s.capture?.['aq-1']).toEqual(capture);
    const noLast = { ...capture, cadence_s: null, last_hour: undefined };
    expect(() => decodeStatus(JSON.stringify({ ...base, capture: { 'aq-1': noLast } }))).not.toThrow();
  });

  it('names what is wrong and where', () => {
    const bad = (c: object) => () => decodeStatus(JSON.stringify({ ...base, capture: { 'aq-1': c } }));
    expect(bad({ ...capture, hour: { ...capture.hour, got: '10' } })).toThrow(PayloadError);
    expect(bad({ ...capture, hour: { ...capture.hour, got: '10' } })).toThrow(/status\.capture\.aq-1\.hour\.got/);
    expect(bad({ ...capture, last_hour: { ...capture.last_hour, valid: 1 } })).toThrow(
      /status\.capture\.aq-1\.last_hour\.valid: expected a boolean/,
    );
    expect(bad({ ...capture, cadence_s: '1' })).toThrow(/status\.capture\.aq-1\.cadence_s/);
  });
});
