// A simulated gateway that backfills history: it publishes what SIM-AQ6 stations would have sampled
// over a past time range, as fast as ingest acknowledges it. For demo data, load tests of the hourly
// engine, and pollution episodes (an `override` forces readings for chosen times).
import mqtt from 'mqtt';
import type { SampleRecord } from '../protocol/envelope.ts';
import { Topics } from '../protocol/topics.ts';
import { aq6Reading, type Aq6Reading } from './models/aq6.ts';
import { decodeAck, encodeEnvelope } from '../protocol/envelope.ts';

export interface BackfillOptions {
  url: string;
  gateway: string;
  password?: string;
  /** Station ids and model seeds. */
  stations: { id: string; seed: number }[];
  from: number;
  to: number;
  stepMs: number;
  /** Readings to force at a time (an episode), merged over the model's. */
  override?: (dev: string, ts: number) => Partial<Aq6Reading> | undefined;
  batch?: number;
}

const FIELDS = ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3', 'temp', 'rh', 'pressure', 'ws', 'wd'] as const;

/** Publishes every sample in [from, to) and resolves with the record count once all are acknowledged. */
export async function backfill(o: BackfillOptions): Promise<number> {
  const topics = new Topics();
  const c = await mqtt.connectAsync(o.url, {
    clientId: o.gateway,
    username: o.gateway,
    ...(o.password ? { password: o.password } : {}),
    protocolVersion: 4,
  });
  const ep = `bf${Date.now().toString(36)}`;
  const records: SampleRecord[] = [];
  for (let ts = o.from; ts < o.to; ts += o.stepMs) {
    for (const s of o.stations) {
      const r = { ...aq6Reading(s.seed, new Date(ts)), ...o.override?.(s.id, ts) };
      records.push({ dev: s.id, kind: 'air.micro', ts, m: Object.fromEntries(FIELDS.map((f) => [f, r[f]])) });
    }
  }
  const last = records.length - 1;
  const done = new Promise<void>((resolve) =>
    c.on('message', (_t, p) => {
      const a = decodeAck(p);
      if (a.ep === ep && a.seq >= last) resolve();
    }),
  );
  await c.subscribeAsync(topics.ack(o.gateway), { qos: 1 });
  const batch = o.batch ?? 200;
  for (let seq = 0; seq <= last; seq += batch) {
    await c.publishAsync(
      topics.up(o.gateway),
      encodeEnvelope({ v: 1, gw: o.gateway, ep, seq, records: records.slice(seq, seq + batch) }),
      { qos: 1 },
    );
  }
  await done;
  await c.endAsync();
  return records.length;
}
