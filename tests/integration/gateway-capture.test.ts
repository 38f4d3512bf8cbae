// The gateway's own data-capture count in status/{gw}: a unit that never answers (simulate's
// `--fault aq-2001=silent`) reports no valid minute this hour and every minute gone by lost, while its
// neighbour on the same bus fills its minutes — seen by an operator client on the real broker.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VALID_MINUTES } from '../../protocol/capture.ts';
import { HOUR, MINUTE } from '../../protocol/time.ts';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const p = new Pipeline({ stations: 2, faults: 'aq-2001=silent' });
beforeAll(async () => {
  await p.start();
});
afterAll(() => p.stop());

it('a silent device reports a capture below 45/60 in status/, its neighbour its minutes', async () => {
  // The silent unit is named down once its timeouts have run: a status may come before that.
  await waitFor(
    'a status with a minute of aq-2000 and aq-2001 down',
    () =>
      (p.status?.capture?.['aq-2000']?.hour.got ?? 0) >= 1 && !!p.status?.devices.down.some((d) => d.dev === 'aq-2001'),
    30_000,
  );
  const s = p.status;
  const [healthy, silent] = [s.capture!['aq-2000']!, s.capture!['aq-2001']!];
  // The hour in progress on the gateway's clock (the status's ts), a Beijing hour.
  const hour = Math.floor(s.ts / HOUR) * HOUR;
  expect(healthy).toMatchObject({ cadence_s: 0.25, cadence_from: 'config', hour: { start: hour } });
  expect(healthy.hour.got).toBeGreaterThanOrEqual(1);
  expect(silent).toMatchObject({
    cadence_s: 0.25,
    cadence_from: 'config',
    hour: { start: hour, got: 0, rate: 0 },
  });
  expect(silent.hour.got).toBeLessThan(VALID_MINUTES);
  // Minutes over since the gateway started, all lost: at most the minutes of the hour gone by.
  expect(silent.hour.lost).toBeLessThanOrEqual(Math.floor((s.ts - hour) / MINUTE));
  expect(s.devices.down.map((d) => d.dev)).toContain('aq-2001');
});
