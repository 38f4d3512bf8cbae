// The payload codecs of status/, live/, alert/ and dlq/: what producers write decodes to itself, and a
// consumer is told what is wrong and where.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../ingest/engine/engine.ts';
import {
  decodeAlert,
  decodeDeadLetter,
  decodeIngestState,
  decodeLive,
  decodeStatus,
  DLQ_PAYLOAD_MAX,
  encodeDeadLetter,
  encodeIngestState,
  encodeStatus,
  OFFLINE_STATUS,
  PayloadError,
} from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';

const T = Date.UTC(2026, 5, 15, 2);

describe('payload codecs', () => {
  it('decodes what the engine publishes on live/ and alert/', () => {
    const e = new Engine(new Topics(), { timing: { minDurationMs: 0, clearDurationMs: 0, hysteresis: 0 } });
    const msgs = [
      ...Array.from(
        { length: 61 },
        (_, m) => e.process({ dev: 'aq-1', kind: 'air.micro', ts: T + m * 60_000, m: { pm25: 40, so2: 600 } }).messages,
      ),
      ...e.process({ dev: 'c-1', kind: 'stack.cems', ts: T, m: { so2: 80 } }).messages,
    ].flat();
    const live = msgs.filter((m) => m.topic.includes('/live/')).map((m) => decodeLive(m.payload));
    // SO2 600 µg/m³ (1-h) is the primary pollutant of the hour.
    expect(live.filter((l) => l.dev === 'aq-1').at(-1)).toMatchObject({
      dev: 'aq-1',
      kind: 'air.micro',
      aqi: { hour: T, primary: ['SO2'], c: { pm25: 40, so2: 600 } },
    });
    const alerts = msgs.filter((m) => m.topic.includes('/alert/') && m.payload).map((m) => decodeAlert(m.payload)!);
    expect(alerts.map((a) => [a.dev, a.event?.rule, a.event?.state, a.open.length])).toEqual([
      ['aq-1', 'gb3095-1h', 'open', 1],
      ['c-1', 'ultra-low', 'open', 1],
    ]);
    expect(decodeAlert('')).toBeNull(); // a cleared retained message: nothing open
  });

  it('decodes a gateway status and its last will', () => {
    const s = {
      state: 'online' as const,
      ts: T,
      ep: 'e1',
      next_seq: 10,
      acked: 9,
      clock_offset_ms: null,
      outbox: { depth: 0, evicted: 0 },
      uplink: { envelopes: 1 },
      sampling: { sampled: 10 },
      devices: { up: ['a'], degraded: [], down: [] },
    };
    expect(decodeStatus(encodeStatus(s))).toEqual(s);
    expect(decodeStatus(OFFLINE_STATUS)).toEqual({ state: 'offline' });
  });

  it('names what is wrong and where', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PayloadError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(() => decodeStatus('{"state":"up"}'))).toBe('status.state: expected "online" or "offline", got "up"');
    const partial = {
      state: 'online',
      ts: T,
      ep: 'e1',
      next_seq: 0,
      acked: -1,
      outbox: {},
      uplink: {},
      sampling: {},
      devices: { up: [] },
    };
    expect(err(() => decodeStatus(JSON.stringify(partial)))).toBe('status.devices.degraded: expected a list');
    expect(err(() => decodeStatus(JSON.stringify({ ...partial, acked: 'all' })))).toBe(
      'status.acked: expected a number, got "all"',
    );
    expect(err(() => decodeLive('{"dev":"a","kind":"air.micro","ts":"soon"}'))).toBe(
      'live.ts: expected a number, got "soon"',
    );
    expect(err(() => decodeAlert('{"dev":"a","kind":"noise","open":[{"rule":"r"}]}'))).toBe(
      'alert.open[0].field: expected a string, got nothing',
    );
    expect(
      err(() =>
        decodeAlert(
          '{"dev":"a","kind":"noise","open":[],"event":{"rule":"r","field":"f","ts":1,"since":1,"value":1,"limit":1,"peak":1,"state":"gone"}}',
        ),
      ),
    ).toBe('alert.event.state: expected open, update, close or event, got "gone"');
    expect(err(() => decodeDeadLetter('[1]'))).toBe('dlq: expected an object, got [1]');
    expect(err(() => decodeLive('{'))).toBe('live: not JSON');
  });

  it("decodes a lease worker's state with the shards it reads now, and names a bad lease", () => {
    const restored = { alarms: 0, air_windows: 0, replayed_devices: 0, replayed_samples: 0, rsd_passes: 0 };
    const state = {
      state: 'running' as const,
      ts: T,
      worker: -1,
      workers: 3,
      shards: [1, 4, 7],
      restored,
      lease: { token: 'a1b2c3', ttl_ms: 5000, gains: 3, losses: 0, resends: 12 },
    };
    expect(decodeIngestState(encodeIngestState(state))).toEqual(state);
    expect(() => decodeIngestState(JSON.stringify({ ...state, lease: { token: 'a1b2c3' } }))).toThrow(/ingest\.lease/);
    expect(() => decodeIngestState(JSON.stringify({ ...state, lease: { ...state.lease, resends: '12' } }))).toThrow(
      /ingest\.lease\.resends/,
    );
    // A worker from before resend requests leaves the count out.
    const { resends: _, ...older } = state.lease;
    expect(decodeIngestState(JSON.stringify({ ...state, lease: older }))).toEqual({ ...state, lease: older });
  });

  it("cuts a dead letter's payload at 64 KiB and says so", () => {
    const d = decodeDeadLetter(
      encodeDeadLetter(T, 'gw-1', 'records[0].ts: in the future', Buffer.alloc(DLQ_PAYLOAD_MAX + 1, 'x')),
    );
    expect(d).toMatchObject({ ts: T, gw: 'gw-1', reason: 'records[0].ts: in the future', truncated: true });
    expect(d.payload).toHaveLength(DLQ_PAYLOAD_MAX);
  });
});
