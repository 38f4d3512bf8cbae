// Builds an ingest worker from flat options (the CLI's, or the stack's).
import { influxV1 } from './sinks/influx-v1.ts';
import { influxV2, type V2Client } from './sinks/influx-v2.ts';
import { LineSink, type SinkOptions } from './sinks/line-sink.ts';
import { loadDeviceFile } from './engine/devices.ts';
import type { Timing } from './engine/judges/judge.ts';
import { IngestWorker } from './worker.ts';

export interface IngestOptions {
  mqttUrl: string;
  username?: string;
  password?: string;
  index: number;
  workers: number;
  prefix: string;
  shards: number;
  influxUrl: string;
  api: 'v1' | 'v2';
  db: string;
  rp?: string;
  influxUser?: string;
  influxPassword?: string;
  org: string;
  bucket: string;
  token?: string;
  /** How --api v2 posts its batches ('influxdb-client' unless set). */
  v2Client?: V2Client;
  sink?: Partial<SinkOptions>;
  devicesFile?: string;
  city?: string;
  timing?: Timing;
  /** Take shards by lease in Redis (index and workers unused). */
  leases?: { redisUrl: string; ttlMs: number };
}

export function createIngest(o: IngestOptions): IngestWorker {
  const file = o.devicesFile ? loadDeviceFile(o.devicesFile) : undefined;
  const endpoint =
    o.api === 'v2'
      ? influxV2({
          url: o.influxUrl,
          org: o.org,
          bucket: o.bucket,
          ...(o.token ? { token: o.token } : {}),
          ...(o.v2Client ? { client: o.v2Client } : {}),
        })
      : influxV1({
          url: o.influxUrl,
          db: o.db,
          ...(o.rp ? { rp: o.rp } : {}),
          ...(o.influxUser ? { username: o.influxUser, password: o.influxPassword ?? '' } : {}),
        });
  return new IngestWorker({
    url: o.mqttUrl,
    index: o.index,
    workers: o.workers,
    prefix: o.prefix,
    shards: o.shards,
    sink: new LineSink(endpoint, o.sink ?? {}),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(file ? { devices: file.devices, rsd: file.rsd } : {}),
    ...(o.timing ? { timing: o.timing } : {}),
    ...(o.city ? { city: o.city } : {}),
    ...(o.leases ? { leases: o.leases } : {}),
  });
}
