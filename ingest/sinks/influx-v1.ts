// InfluxDB /write (1.x; also 2.x with a DBRP mapping, and 3.x).
import type { Endpoint } from './line-sink.ts';

export interface InfluxV1Options {
  url: string;
  db: string;
  rp?: string;
  username?: string;
  password?: string;
}

export function influxV1(o: InfluxV1Options): Endpoint {
  const q = new URLSearchParams({ db: o.db, precision: 'ns' });
  if (o.rp) q.set('rp', o.rp);
  const headers: Record<string, string> = {};
  if (o.username !== undefined)
    headers.authorization = 'Basic ' + Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64');
  const base = o.url.replace(/\/$/, '');
  const create = `CREATE DATABASE ${quoteIdent(o.db)}`;
  return {
    url: `${base}/write?${q}`,
    headers,
    describe: `${o.url} /write db=${o.db}`,
    queryUrl: `${base}/query?${new URLSearchParams({ db: o.db, epoch: 'ms' })}`,
    // A 1.x server answers 404 to a write into a database it lacks: a first start against an empty
    // server should just work, so ingest creates it (which needs an admin user where auth is on).
    missing: {
      create: async () => {
        const res = await fetch(`${base}/query?${new URLSearchParams({ q: create })}`, {
          method: 'POST',
          headers,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        const err = res.ok
          ? (JSON.parse(text) as { results?: { error?: string }[] }).results?.[0]?.error
          : `HTTP ${res.status} ${text.slice(0, 200)}`;
        if (err) throw new Error(`${create}: ${err}`);
      },
      howTo: `create it as an admin user: curl -XPOST ${base}/query${o.username !== undefined ? " -u 'admin:…'" : ''} --data-urlencode 'q=${create}'`,
    },
  };
}

/** An InfluxQL identifier in double quotes. */
function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
