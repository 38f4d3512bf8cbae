// InfluxDB /api/v2/write (2.x, 1.8+, 3.x, and servers that speak it such as VictoriaMetrics).
import { clientPost, clientQuery } from './influxdb-client.ts';
import type { Endpoint } from './line-sink.ts';

/** How batches are posted: @influxdata/influxdb-client's transport (gzip), or the sink's own keep-alive HTTP pool. */
export type V2Client = 'influxdb-client' | 'http';

export interface InfluxV2Options {
  url: string;
  org: string;
  bucket: string;
  token?: string;
  /** 'influxdb-client' unless set. */
  client?: V2Client;
}

export function influxV2(o: InfluxV2Options): Endpoint {
  const q = new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ns' });
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Token ${o.token}`;
  const base = o.url.replace(/\/$/, '');
  const client = o.client ?? 'influxdb-client';
  // Restores read through the InfluxQL compatibility endpoint: InfluxDB 2.x maps each bucket to a
  // database of the same name, 1.8 takes the "db/rp" bucket's db, 3.x serves it too. Servers without
  // it (VictoriaMetrics) answer with an error, and the worker starts with empty windows. With the
  // client library, those reads go through its transport as the writes do. Flux queries (2.x without a
  // DBRP mapping) are not used: there is no 2.x server here to test them against.
  const [db, rp] = o.bucket.split('/');
  const query = new URLSearchParams({ db: db!, epoch: 'ms', ...(rp ? { rp } : {}) });
  return {
    url: `${base}/api/v2/write?${q}`,
    headers,
    describe: `${o.url} /api/v2/write bucket=${o.bucket}${client === 'http' ? ' (http)' : ''}`,
    queryUrl: `${base}/query?${query}`,
    ...(client === 'influxdb-client'
      ? {
          post: clientPost({ url: base, path: `/api/v2/write?${q}`, ...(o.token ? { token: o.token } : {}) }),
          query: clientQuery({ url: base, ...(o.token ? { token: o.token } : {}) }),
        }
      : {}),
    // Creating a bucket takes an org id, a token allowed to, and a retention choice: a person's decision, so it is only said how.
    missing: {
      howTo:
        `create the bucket: influx bucket create --name ${o.bucket} --org ${o.org}` +
        ` (or POST ${base}/api/v2/buckets with {"orgID": "<id from GET ${base}/api/v2/orgs?org=${encodeURIComponent(o.org)}>", "name": "${o.bucket}"});` +
        ' a server without /api/v2/write (InfluxDB before 1.8) answers 404 too: use --api v1 there',
    },
  };
}
