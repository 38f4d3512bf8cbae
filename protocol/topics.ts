// MQTT topic names and the shard function (docs/protocol.md §2). Every process builds and parses topics here.

export const DEFAULT_PREFIX = 'env/v1';
export const DEFAULT_SHARDS = 16;

/** FNV-1a, 32 bit, over the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function shardOf(gw: string, shards = DEFAULT_SHARDS): number {
  return fnv1a32(gw) % shards;
}

/** Shards owned by ingest worker `index` of `workers`: those with s mod workers = index. */
export function shardsOwned(index: number, workers: number, shards = DEFAULT_SHARDS): number[] {
  if (!(workers >= 1) || index < 0 || index >= workers)
    throw new Error(`worker index ${index} is outside 0..${workers - 1}`);
  const out: number[] = [];
  for (let s = 0; s < shards; s++) if (s % workers === index) out.push(s);
  return out;
}

/** Ids of gateways and devices become topic levels, so they may not hold MQTT wildcards or separators. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class Topics {
  constructor(
    readonly prefix = DEFAULT_PREFIX,
    readonly shards = DEFAULT_SHARDS,
  ) {}

  up(gw: string): string {
    return `${this.prefix}/up/${shardOf(gw, this.shards)}/${gw}`;
  }
  upShard(shard: number): string {
    return `${this.prefix}/up/${shard}/+`;
  }
  ack(gw: string): string {
    return `${this.prefix}/ack/${gw}`;
  }
  status(gw: string): string {
    return `${this.prefix}/status/${gw}`;
  }
  live(kind: string, dev: string): string {
    return `${this.prefix}/live/${kind}/${dev}`;
  }
  alert(dev: string): string {
    return `${this.prefix}/alert/${dev}`;
  }
  dlq(gw: string): string {
    return `${this.prefix}/dlq/${gw}`;
  }
  /** An ingest worker's own marker, published to itself to end its read of retained alarms. */
  ingestSync(clientId: string): string {
    return `${this.prefix}/sys/ingest/${clientId}`;
  }
  /** An ingest worker's state: retained, with a last will. */
  ingestState(clientId: string): string {
    return `${this.prefix}/sys/ingest/${clientId}/state`;
  }

  /** Splits a topic under the prefix into its kind and levels, or null if it is not ours. */
  parse(topic: string): { kind: string; levels: string[] } | null {
    if (!topic.startsWith(this.prefix + '/')) return null;
    const [kind, ...levels] = topic.slice(this.prefix.length + 1).split('/');
    return kind ? { kind, levels } : null;
  }

  /** The gateway id of an `up/{shard}/{gw}` topic, or null. */
  upGateway(topic: string): string | null {
    const p = this.parse(topic);
    if (!p || p.kind !== 'up' || p.levels.length !== 2) return null;
    return p.levels[1] ?? null;
  }
}
