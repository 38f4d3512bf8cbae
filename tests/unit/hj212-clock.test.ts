// The hj212 link asks a logger its clock when it connects (CN 1011) and sets it (CN 1012) when it is off
// by more than max_clock_drift_s; the simulated logger answers both as HJ 212-2017 §6.6 has a site do.
// A real listener and a real simulated logger over TCP on a free port.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Hj212Listener } from '../../gateway/drivers/hj212-listener.ts';
import type { Hj212Logger } from '../../simulators/hj212-logger.ts';
import { stationLink, type StationLink } from '../helpers/hj212-link.ts';
import { waitFor } from '../helpers/wait.ts';

const MN = '150100A0000001000000A077';
const stored: number[] = [];
let link: StationLink;
let listener: Hj212Listener;
let logger: Hj212Logger;

beforeAll(async () => {
  link = await stationLink({
    id: 'st-clock',
    mn: MN,
    maxClockDriftS: 60,
    store: (records) => stored.push(...records.map((r) => r.ts)),
    logger: { factors: () => ({ a34004: { Rtd: 30, Flag: 'N' } }) },
  });
  ({ listener, logger } = link);
  logger.clockOffsetMs = 5 * 60_000; // five minutes fast
  logger.start();
});
afterAll(() => link.close());

it("sets a logger's clock that runs five minutes fast, and says how far off it was", async () => {
  await waitFor('the clock set', () => logger.stats.clockSet === 1, 10_000);
  const st = listener.perDevice.get('st-clock')!;
  expect(st.clockDriftS).toBeGreaterThanOrEqual(299);
  expect(st.clockDriftS).toBeLessThanOrEqual(301);
  expect(st.clockSet).toBe(1);
  expect(Math.abs(logger.clockOffsetMs)).toBeLessThan(2000);
  // Its first sample was stamped by the fast clock; what it samples now is on the gateway's.
  expect(stored[0]! - Date.now()).toBeGreaterThan(4 * 60_000);
  logger.sample(Date.now() + logger.clockOffsetMs);
  await waitFor('the next sample', () => stored.length === 2, 10_000);
  expect(Math.abs(stored[1]! - Date.now())).toBeLessThan(5000);
});
