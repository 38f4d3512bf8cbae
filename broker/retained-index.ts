// Aedes' in-memory persistence answers each SUBSCRIBE by testing every retained topic against each filter.
// A broker of 10,000 gateways holds a retained ack/{gw} for each, and a gateway subscribes to its own
// ack/{gw} at every connect: after a restart that was 10,000 × 10,000 topic tests, and the event loop,
// not the logins, set how fast the fleet came back (bench/broker-scale.ts). Filters without wildcards —
// every gateway's — are answered from a map of the retained messages instead; the rest as before.
import { Readable } from 'node:stream';

interface RetainedPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** The part of an Aedes persistence this touches (aedes-persistence 11). */
export interface RetainedStore {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
}

const exact = (filter: string) => !filter.includes('+') && !filter.includes('#');

/** Wraps `store` so that filters without wildcards find their retained message by topic. */
export function indexRetained(store: RetainedStore): void {
  const byTopic = new Map<string, RetainedPacket>();
  const storeRetained = store.storeRetained.bind(store);
  const combi = store.createRetainedStreamCombi.bind(store);
  const single = store.createRetainedStream.bind(store);
  const lookup = (filters: string[]) => Readable.from(filters.flatMap((f) => byTopic.get(f) ?? []));
  store.storeRetained = async (packet) => {
    await storeRetained(packet);
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
  };
  store.createRetainedStreamCombi = (patterns) => (patterns.every(exact) ? lookup(patterns) : combi(patterns));
  store.createRetainedStream = (pattern) => (exact(pattern) ? lookup([pattern]) : single(pattern));
}
