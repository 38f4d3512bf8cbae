// Sample records as gateways send them, at times the test pins.
import type { SampleRecord } from '../../protocol/envelope.ts';

const MIN = 60_000;

/**
 * The minute records of the smokestack analyzer cems-1 from `t0`: `cems(m, so2, o2)` is minute m with
 * SO2 and O2 as given (O2 6 %, the reference, unless told), NOx 30 and dust 3.
 */
export function cemsMinutes(t0: number): (m: number, so2: number, o2?: number) => SampleRecord {
  return (m, so2, o2 = 6) => ({
    dev: 'cems-1',
    kind: 'stack.cems',
    ts: t0 + m * MIN,
    m: { so2, nox: 30, dust: 3, o2 },
  });
}
