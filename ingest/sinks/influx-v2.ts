// InfluxDB /api/v2/write (2.x, 1.8+, 3.x, and servers that speak it such as VictoriaMetrics).
import type { Endpoint } from './line-sink.ts';

export interface InfluxV2Options { url: string; org: string; bucket: string; token?: string }

export function influxV2(o: InfluxV2Options): Endpoint {
  const q = new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ms' });
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Token ${o.token}`;
  const base = o.url.replace(/\/$/, '');
  // Restores read through the InfluxQL compatibility endpoint: InfluxDB 2.x maps each bucket to a
  // database of the same name, 1.8 takes the "db/rp" bucket's db, 3.x serves it too. Servers without
  // it (VictoriaMetrics) answer with an error, and the worker starts with empty windows.
  const [db, rp] = o.bucket.split('/');
  const query = new URLSearchParams({ db: db!, epoch: 'ms', ...(rp ? { rp } : {}) });
  return { url: `${base}/api/v2/write?${q}`, headers, describe: `${o.url} /api/v2/write bucket=${o.bucket}`, queryUrl: `${base}/query?${query}` };
}
