import { describe, expect, it } from 'vitest';
import { Capture, gapsOf } from '../../ingest/capture.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';

// 2025-06-15 02:00 UTC = 10:00 Beijing; the Beijing day starts at 16:00 UTC the day before.
const H = Date.UTC(2025, 5, 15, 2);
const HOUR = 3_600_000;
const MIN = 60_000;
const DAY0 = Date.UTC(2025, 5, 14, 16);

const rec = (ts: number, f?: Record<string, string>): SampleRecord => ({
  dev: 'aq-1',
  kind: 'air.micro',
  ts,
  m: { pm25: 30, pm10: 60 },
  ...(f ? { f } : {}),
});
const fields = (line: string) =>
  Object.fromEntries(
    line
      .split(' ')[1]!
      .split(/,(?=[a-z_]+=)/)
      .map((kv) => kv.split('=')),
  );
const hourPoints = (lines: string[]) => lines.filter((l) => l.startsWith('capture,dev=aq-1,period=hour'));

describe('data-capture rate', () => {
  it('counts the minutes of an hour that hold a valid sample, and marks an hour under 45 invalid', () => {
    const c = new Capture();
    for (let m = 0; m < 60; m++) if (m < 20 || m >= 40) c.record('gw-1', rec(H + m * MIN + 5_000));
    for (let m = 0; m < 60; m += 2) c.record('gw-1', rec(H + HOUR + m * MIN)); // every other minute
    c.record('gw-1', rec(H + 2 * HOUR)); // closes both
    const [h0, h1] = hourPoints(c.flush()).map(fields);
    expect(h0).toMatchObject({ got: '40', expected: '60', rate: '0.667', valid: 'false', closed: 'true' });
    expect(h0!.gaps).toBe('"10:20-10:39"');
    expect(h1).toMatchObject({ got: '30', rate: '0.5', valid: 'false', closed: 'true' });
  });

  it('counts a sample only when one of its readings is valid data (flag N or none)', () => {
    const c = new Capture();
    c.record('gw-1', rec(H, { pm25: 'M', pm10: 'M' })); // maintenance: not data
    c.record('gw-1', rec(H + MIN, { pm25: 'C', pm10: 'N' })); // PM10 still valid
    c.record('gw-1', rec(H + 2 * MIN, { pm25: 'D' })); // pm10 unflagged
    expect(fields(hourPoints(c.flush())[0]!)).toMatchObject({ got: '2', closed: 'false' });
  });

  it('writes the hours a device was silent with nothing captured, and a day of 20 valid hours as valid', () => {
    const c = new Capture();
    const fullHour = (start: number) => {
      for (let m = 0; m < 60; m++) c.record('gw-1', rec(start + m * MIN));
    };
    for (let h = 0; h < 24; h++) if (h < 5 || h > 8) fullHour(DAY0 + h * HOUR); // silent 05:00–08:59
    c.record('gw-1', rec(DAY0 + 24 * HOUR));
    const lines = c.flush();
    expect(hourPoints(lines)).toHaveLength(25); // 24 closed (4 of them empty) and the new open hour
    const silent = hourPoints(lines)
      .map(fields)
      .filter((p) => p.got === '0');
    expect(silent.map((p) => p.gaps)).toEqual([5, 6, 7, 8].map((h) => `"0${h}:00-0${h}:59"`));
    const day = lines.filter((l) => l.startsWith('capture,dev=aq-1,period=day')).map(fields);
    expect(day).toEqual([expect.objectContaining({ got: '20', expected: '24', valid: 'true', gaps: '"05,06,07,08"' })]);
  });

  it('counts a backlog that arrives after newer data (a gateway sends newest first) into its closed hour again', () => {
    const c = new Capture();
    c.record('gw-1', rec(H + HOUR)); // the link comes back: newest first
    expect(c.flush()).toHaveLength(1);
    for (let m = 0; m < 50; m++) c.record('gw-1', rec(H + m * MIN)); // then the backlog of the hour before
    const [again] = hourPoints(c.flush()).map(fields);
    expect(again).toMatchObject({ got: '50', valid: 'true', closed: 'true' });
  });

  it('goes on from minutes read back after a restart, and ignores events and interval data', () => {
    const c = new Capture();
    c.restore('aq-1', 'air.micro', 'gw-1', H, '1'.repeat(30) + '0'.repeat(30));
    c.record('gw-1', rec(H + 45 * MIN));
    c.record('gw-1', { ...rec(H + 46 * MIN), agg: 'hour' });
    c.record('gw-1', { dev: 'rsd-1', kind: 'rsd', ts: H, m: { speed: 40 } });
    const lines = c.flush();
    expect(lines).toHaveLength(1);
    expect(fields(lines[0]!)).toMatchObject({ got: '31', closed: 'false' });
  });

  it('forgets hours more than two days behind a device, after writing them a last time', () => {
    const c = new Capture();
    c.record('gw-1', rec(H));
    c.record('gw-1', rec(H + 49 * HOUR)); // back after two days: H is written closed, then forgotten
    const lines = c.flush();
    expect(lines.filter((l) => l.endsWith(` ${H}000000`)).map(fields)).toEqual([
      expect.objectContaining({ got: '1', closed: 'true' }),
    ]);
    c.record('gw-1', rec(H + 5 * MIN)); // too late to count
    expect(c.flush()).toEqual([]);
  });

  it('writes an hour and its day before forgetting them, with what they held', () => {
    const c = new Capture();
    for (let h = 0; h < 12; h++) for (let m = 0; m < 60; m++) c.record('gw-1', rec(DAY0 + h * HOUR + m * MIN));
    c.flush();
    c.record('gw-1', rec(DAY0 + 4 * 24 * HOUR)); // silent for three days
    const lines = c.flush();
    const last = lines.find(
      (l) => l.startsWith('capture,dev=aq-1,period=hour') && l.endsWith(` ${DAY0 + 11 * HOUR}000000`),
    );
    expect(fields(last!)).toMatchObject({ got: '60', closed: 'true' });
    const day = lines.filter((l) => l.startsWith('capture,dev=aq-1,period=day') && l.endsWith(` ${DAY0}000000`));
    expect(day.map(fields)).toEqual([expect.objectContaining({ got: '12', valid: 'false' })]);
  });

  it('leaves a day alone that late data reaches after a restart read back only part of it', () => {
    const c = new Capture();
    // Read back: the newest 48 hours (a full page), beginning at 04:00 of the day.
    for (let h = 4; h < 52; h++) c.restore('aq-1', 'air.micro', 'gw-1', DAY0 + h * HOUR, '1'.repeat(60), false);
    c.record('gw-1', rec(DAY0 + 5 * HOUR + 30 * MIN)); // late, into the day whose 00:00–03:00 were not read back
    expect(c.flush().filter((l) => l.includes('period=day'))).toEqual([]);
  });

  it('names runs of missing minutes on a Beijing clock', () => {
    const marks = Array<string>(60).fill('1');
    marks[0] = '0';
    for (let m = 10; m <= 12; m++) marks[m] = '0';
    marks[59] = '0';
    expect(gapsOf(marks, H)).toBe('10:00,10:10-10:12,10:59');
  });
});
