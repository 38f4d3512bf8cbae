// InfluxDB /api/v2/write (2.x, 1.8+, 3.x, and servers that speak it such as VictoriaMetrics).
import type { Endpoint } from './line-sink.ts';

export interface InfluxV2Options { url: string; org: string; bucket: string; token?: string }

export function influxV2(o: InfluxV2Options): Endpoint {
  const q = new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ms' });
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Token ${o.token}`;
  return { url: `${o.url.replace(/\/$/, '')}/api/v2/write?${q}`, headers, describe: `${o.url} /api/v2/write bucket=${o.bucket}` };
}
