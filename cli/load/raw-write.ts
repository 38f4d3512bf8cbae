// influxd's own /write rate for lines of the same shape as the run's, measured in the same run, so the
// pipeline's rate can be read as a share of what the database takes on this machine at this moment.
import { recordLine } from '../../ingest/schema.ts';
import type { GatewayPlan } from './plan.ts';
import { recordOf } from './records.ts';

export interface RawRate {
  lines: number;
  seconds: number;
  lines_per_s: number;
}

/** Writes `n` lines of the plan's devices into database `db` (created), 5000 a request, 2 in flight, as ingest does. */
export async function rawWriteRate(
  url: string,
  db: string,
  plans: GatewayPlan[],
  n: number,
  now: number,
): Promise<RawRate> {
  const create = await fetch(`${url}/query?${new URLSearchParams({ q: `CREATE DATABASE "${db}"` })}`, {
    method: 'POST',
  });
  if (!create.ok) throw new Error(`CREATE DATABASE ${db}: HTTP ${create.status}`);
  const lines: string[] = [];
  const devices = plans.flatMap((p) => p.devices.map((d) => ({ gw: p.gw, d })));
  for (let i = 0; i < n; i++) {
    const { gw, d } = devices[i % devices.length]!;
    const k = Math.floor(i / devices.length);
    lines.push(recordLine(gw, i, recordOf(d.dev, d.kind, d.seed, k, now - 3_600_000 + k * 1000)));
  }
  let at = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (at < lines.length) {
      const body = lines.slice(at, (at += 5000)).join('\n');
      const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ns`, { method: 'POST', body });
      if (res.status !== 204) throw new Error(`raw write failed: HTTP ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker()]);
  const seconds = (performance.now() - t0) / 1000;
  return { lines: n, seconds: Math.round(seconds * 1000) / 1000, lines_per_s: Math.round(n / seconds) };
}
