// InfluxDB /write (1.x; also 2.x with a DBRP mapping, and 3.x).
import type { Endpoint } from './line-sink.ts';

export interface InfluxV1Options { url: string; db: string; rp?: string; username?: string; password?: string }

export function influxV1(o: InfluxV1Options): Endpoint {
  const q = new URLSearchParams({ db: o.db, precision: 'ms' });
  if (o.rp) q.set('rp', o.rp);
  const headers: Record<string, string> = {};
  if (o.username !== undefined) headers.authorization = 'Basic ' + Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64');
  const base = o.url.replace(/\/$/, '');
  return {
    url: `${base}/write?${q}`, headers, describe: `${o.url} /write db=${o.db}`,
    queryUrl: `${base}/query?${new URLSearchParams({ db: o.db, epoch: 'ms' })}`,
  };
}
