// Payloads as ingest publishes them, built with the protocol's own encoders, for tests of what operators see.
import { encodeAlert, encodeLive } from '../../protocol/messages.ts';

const HOUR = 3_600_000;

/** An air device's live/ message at `ts` whose latest closed hour (the one before) had AQI 107, PM2.5 primary. */
export function airLive(
  dev: string,
  kind: 'air.station' | 'air.micro',
  ts: number,
  c: Record<string, number> = { pm25: 80 },
): string {
  return encodeLive({
    dev,
    kind,
    ts,
    m: { pm25: 80 },
    aqi: {
      hour: ts - HOUR,
      aqi: 107,
      value: 107,
      level: 3,
      category: '轻度污染',
      primary: ['PM2.5'],
      aqi_24h: 95,
      warning: 'none',
      c,
    },
  });
}

/** An alert/ message of a repeat offender: a plate's second pass over its limit at `ts`. */
export function rsdRepeat(dev: string, ts: number, plate = '蒙A·D1234'): string {
  return encodeAlert({
    dev,
    kind: 'rsd',
    event: {
      dev,
      rule: 'rsd-repeat',
      field: 'passes',
      state: 'event',
      ts,
      since: ts,
      value: 2,
      limit: 2,
      peak: 2,
      attrs: { plate, fuel: 'diesel' },
    },
    open: [],
  });
}
