// HJ 212-2025 SM4 end to end: simulated loggers encrypting their CP (raw and text wire forms) → the
// gateway's hj212 link with each device's key → outbox → Aedes → ingest → influxd, values checked; a
// logger whose key is not the one configured is refused, counted against its device, and stores nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseSm4Key } from '../../protocol/hj212-sm4.ts';
import { airFactors, Hj212Logger } from '../../simulators/hj212-logger.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const KEY_RAW = '0123456789abcdeffedcba9876543210';
const KEY_TEXT = '00112233445566778899aabbccddeeff';
const MN = { raw: '150100A00000000000005001', text: '150100A00000000000005002', wrong: '150100A00000000000005003' };

const p = new Pipeline({
  stations: 0,
  hj212: [
    { id: 'st-raw', kind: 'air.station', mn: MN.raw, sm4Key: KEY_RAW },
    { id: 'st-text', kind: 'air.station', mn: MN.text, sm4Key: KEY_TEXT },
    { id: 'st-wrong', kind: 'air.station', mn: MN.wrong, sm4Key: KEY_RAW },
  ],
});
const loggers: Hj212Logger[] = [];

beforeAll(async () => {
  await p.start();
});
afterAll(async () => {
  for (const l of loggers) l.stop();
  await p.stop();
});

/** A logger that uploads only when told (times pinned by the test), encrypting with `key`. */
function logger(mn: string, seed: number, key: string, form: 'raw' | 'text', ackTimeoutMs = 2000): Hj212Logger {
  const l = new Hj212Logger({
    host: '127.0.0.1',
    port: p.hj212Port,
    mn,
    st: '22',
    intervalMs: 60_000,
    ackTimeoutMs,
    factors: (t) => airFactors(seed, t),
    sm4: { key: parseSm4Key(key), form },
  }).open();
  loggers.push(l);
  return l;
}

// 2024-01-15 10:00 Beijing time, then every minute.
const T0 = Date.UTC(2024, 0, 15, 2, 0);
const SAMPLES = [0, 1, 2, 3].map((m) => T0 + m * 60_000);

it('stores what encrypting loggers upload, values intact; a wrong key is refused and counted', async () => {
  const raw = logger(MN.raw, 5001, KEY_RAW, 'raw');
  const text = logger(MN.text, 5002, KEY_TEXT, 'text');
  // Not re-sent within the test: each upload is refused exactly once.
  const wrong = logger(MN.wrong, 5003, KEY_TEXT, 'raw', 600_000);
  for (const t of SAMPLES) {
    raw.upload('2011', t, airFactors(5001, new Date(t)));
    // The text form is 5 characters a byte: a few factors keep it under 1024.
    const { a34004, a21026 } = airFactors(5002, new Date(t));
    text.upload('2011', t, { a34004: a34004!, a21026: a21026! });
    wrong.upload('2011', t, airFactors(5003, new Date(t)));
  }
  await waitFor('the encrypting loggers answered', () => raw.unanswered === 0 && text.unanswered === 0, 30_000);
  await waitFor(
    'the wrong key refused',
    () => (p.status?.pushed?.['st-wrong']?.decryptFailed as number | undefined) === SAMPLES.length,
    30_000,
  );
  expect(wrong.stats.answered).toBe(0);
  expect(p.status.pushed?.['st-wrong']).toMatchObject({ accepted: 0, rejected: SAMPLES.length });
  expect(p.status.pushed?.['st-wrong']?.lastError).toMatch(/^SM4: the CP does not decrypt with the device's sm4_key/);
  expect(p.status.pushed?.['st-raw']).toMatchObject({ accepted: SAMPLES.length, rejected: 0, decryptFailed: 0 });
  expect(p.status.pushed?.['st-text']).toMatchObject({ accepted: SAMPLES.length, rejected: 0, decryptFailed: 0 });

  const bounds = `time >= ${T0}ms AND time < ${T0 + 3_600_000}ms`;
  const rows = async (dev: string) =>
    p.influx.rows(`SELECT * FROM air WHERE dev = '${dev}' AND ${bounds} ORDER BY time`);
  await waitFor(
    'every answered upload in InfluxDB',
    async () => (await rows('st-raw')).length === SAMPLES.length && (await rows('st-text')).length === SAMPLES.length,
    30_000,
  );
  for (const r of await rows('st-raw')) {
    const f = airFactors(5001, new Date(r.time as number));
    expect(r).toMatchObject({ pm25: f.a34004!.Rtd, pm10: f.a34002!.Rtd, so2: f.a21026!.Rtd, temp: f.a01001!.Rtd });
  }
  for (const r of await rows('st-text')) {
    const f = airFactors(5002, new Date(r.time as number));
    expect(r).toMatchObject({ pm25: f.a34004!.Rtd, so2: f.a21026!.Rtd });
  }
  expect((await rows('st-raw')).map((r) => r.time)).toEqual(SAMPLES);
  expect(await rows('st-wrong')).toEqual([]);
});
