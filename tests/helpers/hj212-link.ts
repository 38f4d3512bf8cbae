// A real hj212 link on a free port with one air station, and a simulated logger (not yet connected) that
// uploads to it over TCP: the pair the link's unit tests share.
import { Hj212Listener } from '../../gateway/drivers/hj212-listener.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import { Hj212Logger, type LoggerOptions } from '../../simulators/hj212-logger.ts';

export interface StationLink {
  listener: Hj212Listener;
  logger: Hj212Logger;
  close(): Promise<void>;
}

/** Starts the link (`maxClockDriftS` 0: the clock is not checked); the caller opens or starts the logger. */
export async function stationLink(o: {
  id: string;
  mn: string;
  store: (records: SampleRecord[]) => void;
  maxClockDriftS?: number;
  logger: Pick<LoggerOptions, 'factors'> & Partial<LoggerOptions>;
}): Promise<StationLink> {
  const listener = new Hj212Listener(
    { name: 'hj', type: 'hj212', host: '127.0.0.1', port: 0, offsetHours: 8, maxClockDriftS: o.maxClockDriftS ?? 0 },
    [{ id: o.id, kind: 'air.station', link: 'hj', mn: o.mn, crc: 'hj212' }],
    o.store,
  );
  const port = await listener.start();
  const logger = new Hj212Logger({ host: '127.0.0.1', port, mn: o.mn, st: '22', intervalMs: 3_600_000, ...o.logger });
  return {
    listener,
    logger,
    close: async () => {
      logger.stop();
      await listener.close();
    },
  };
}
