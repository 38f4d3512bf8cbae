// InfluxDB /api/v2/write (2.x, 1.8+, 3.x, and servers that speak it such as VictoriaMetrics).
import type { Endpoint } from './line-sink.ts';

export interface InfluxV2Options {
  url: string;
  org: string;
  bucket: string;
  token?: string;
}

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
  return {
    url: `${base}/api/v2/write?${q}`,
    headers,
    describe: `${o.url} /api/v2/write bucket=${o.bucket}`,
    queryUrl: `${base}/query?${query}`,
    // Creating a bucket takes an org id, a token allowed to, and a retention choice: a person's decision, so it is only said how.
    missing: {
      howTo:
        `create the bucket: influx bucket create --name ${o.bucket} --org ${o.org}` +
        ` (or POST ${base}/api/v2/buckets with {"orgID": "<id from GET ${base}/api/v2/orgs?org=${encodeURIComponent(o.org)}>", "name": "${o.bucket}"});` +
        ' a server without /api/v2/write (InfluxDB before 1.8) answers 404 too: use --api v1 there',
    },
  };
}
