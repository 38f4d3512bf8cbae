// Broker at scale: N gateways, each over its own MQTT connection with its own user (the real login and
// ACL), subscribed to its ack/{gw} and publishing a small envelope now and then through a real ingest
// worker into influxd. Reports the time to connect them all and the broker's memory and CPU; then kills
// the broker with SIGKILL, starts it again on the same port (in memory: the stack keeps no Redis, so
// sessions and retained acks are gone) and measures the reconnect storm: when the gateways try again
// (the real gateway's jittered back-off, protocol/backoff.ts), how long until all are back, what the
// broker refused meanwhile, its peak memory after, and that every record published before and after the
// restart was acknowledged and stored exactly once (the seq audit). Prints JSON, progress on stderr.
// Run: node bin/run-ts.js bench/broker-scale.ts [--gateways 10000 --addresses 10000 --before-s 30]
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { brokerLimits } from '../broker/limits.ts';
import { audit } from '../cli/load/audit.ts';
import { sampleProc, type ProcSample } from '../cli/load/proc-stats.ts';
import { LoadStack } from '../cli/load/stack.ts';
import { Topics } from '../protocol/topics.ts';
import { FleetGateway, syntheticRecord } from '../simulators/mqtt-load.ts';

const DEFAULTS = brokerLimits(16);
const { values: a } = parseArgs({
  options: {
    gateways: { type: 'string', default: '10000' },
    // Source addresses on loopback the gateways are dealt over (one each by default, as in the field).
    addresses: { type: 'string' },
    'publish-s': { type: 'string', default: '30' },
    'before-s': { type: 'string', default: '30' },
    'after-s': { type: 'string', default: '30' },
    'connect-burst': { type: 'string', default: String(DEFAULTS.connectBurst) },
    'connect-rate': { type: 'string', default: String(DEFAULTS.connectPerSecond) },
    'republish-s': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '500' },
    'timeout-s': { type: 'string', default: '600' },
  },
});
const G = Number(a.gateways);
const ADDRS = Number(a.addresses ?? a.gateways);
const PUBLISH_MS = Number(a['publish-s']) * 1000;
const TIMEOUT_MS = Number(a['timeout-s']) * 1000;
const PREFIX = 'gw-scale-';
const progress = (s: string) => process.stderr.write(`broker-scale: ${s}\n`);
const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The i-th loopback source address: 127.1.0.1, 127.1.0.2, … (any of 127.0.0.0/8 is ours on Linux). */
function loopback(i: number): string {
  const k = (i % ADDRS) + 1;
  return `127.${1 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
}

/** The soft open-file limit of a process, from /proc/<pid>/limits. */
function openFileLimit(pid: number | 'self'): number | null {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? Number(m[1]) : null;
}

function openFiles(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function quantiles(xs: number[]): { min: number; p10: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...xs].sort((x, y) => x - y);
  const q = (f: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))]! : 0);
  return { min: q(0), p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1]! : 0 };
}

async function health(url: string): Promise<Record<string, number> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Record<string, number>;
  } catch {
    return null;
  }
}

/** Runs `f` over `xs` with at most `n` at once. */
async function pool<T>(xs: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, xs.length) }, async () => {
      while (i < xs.length) await f(xs[i++]!);
    }),
  );
}

/**
 * Each gateway takes one 10-field record every `publishMs` (its phase spread over the period) and
 * publishes it at once as an envelope; unacknowledged ones are re-published as a gateway does.
 */
function drive(gws: FleetGateway[], publishMs: number): { stop(): void; close(): void; records: () => number } {
  const start = Date.now();
  const next = gws.map((_, i) => start + (publishMs * i) / gws.length);
  const lastTs = gws.map(() => 0);
  let records = 0;
  let adding = true;
  const timer = setInterval(() => {
    const now = Date.now();
    gws.forEach((gw, i) => {
      if (adding && now >= next[i]!) {
        const ts = Math.max(now, lastTs[i]! + 1);
        lastTs[i] = ts;
        gw.add(syntheticRecord(`${gw.o.gateway}-aq`, ts, gw.nextSeq));
        records++;
        next[i]! += publishMs;
        gw.pump();
      }
      gw.tick(now);
    });
  }, 100);
  return {
    stop: () => {
      adding = false;
    },
    close: () => clearInterval(timer),
    records: () => records,
  };
}

/** Broker memory and CPU now, and CPU cores used since `from`. */
function brokerFigures(pid: number, from: ProcSample | null, seconds: number) {
  const x = sampleProc(pid);
  return {
    rss_mb: x ? r1(x.rssMb) : null,
    peak_rss_mb: x ? r1(x.peakRssMb) : null,
    cpu_s: x ? r1(x.cpuS) : null,
    cores: x && from ? Math.round(((x.cpuS - from.cpuS) / seconds) * 100) / 100 : null,
    open_files: openFiles(pid),
  };
}

const names = Array.from({ length: G }, (_, i) => `${PREFIX}${String(i + 1).padStart(5, '0')}`);
const password = `scale-${Math.random().toString(36).slice(2, 12)}`;
const limits = { burst: Number(a['connect-burst']), perSecond: Number(a['connect-rate']) };
const fdLimit = openFileLimit('self');
if (fdLimit !== null && fdLimit < G + 1000)
  progress(`open-file limit ${fdLimit} is below ${G} gateways + 1000: raise it (ulimit -n) or expect EMFILE`);
const stack = new LoadStack({ gateways: names, password, workers: 1, shards: 16, progress, connectLimits: limits });
// Interrupted: stop the stack's processes (they are in their own process groups) before leaving.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void stack.stop().finally(() => process.exit(130)));
progress(`starting influxd, broker and one ingest worker; ${G} users (scrypt cost 1024)`);
await stack.start();
const topics = new Topics(undefined, 16);
const gws = names.map(
  (gateway, i) =>
    new FleetGateway({
      url: stack.mqttUrl,
      gateway,
      password,
      batch: 200,
      window: 8,
      republishMs: Number(a['republish-s']) * 1000,
      topics,
      localAddress: loopback(i),
    }),
);
const self0 = sampleProc(process.pid);
let broker0 = sampleProc(stack.broker!.pid);

// 1. Connect them all, `concurrency` logins in flight at a time.
const t0 = Date.now();
let done = 0;
await pool(gws, Number(a.concurrency), async (g) => {
  await g.connect(120_000);
  if (++done % 1000 === 0) progress(`${done} connected (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
});
const connectS = (Date.now() - t0) / 1000;
const afterConnect = brokerFigures(stack.broker!.pid, broker0, connectS);
const health0 = await health(stack.healthUrl);
progress(`${G} connected in ${connectS.toFixed(1)} s; broker RSS ${afterConnect.rss_mb} MiB`);

// 2. Steady: every gateway publishes one record every --publish-s.
const run = drive(gws, PUBLISH_MS);
broker0 = sampleProc(stack.broker!.pid);
await sleep(Number(a['before-s']) * 1000);
const steady = brokerFigures(stack.broker!.pid, broker0, Number(a['before-s']));
const recordsBefore = run.records();
progress(`steady ${a['before-s']} s: ${recordsBefore} records; broker RSS ${steady.rss_mb} MiB, ${steady.cores} cores`);

// 3. kill -9 and restart on the same port; watch them come back.
progress('kill -9 the broker, starting it again on the same port');
const { killedAt, upAt } = await stack.restartBroker();
const storm0 = sampleProc(stack.broker!.pid);
const timeline: { s: number; connected: number; rss_mb: number | null }[] = [];
let peakRss = 0;
for (let lastLine = 0; ;) {
  const now = Date.now();
  const connected = gws.reduce((n, g) => n + (g.connected ? 1 : 0), 0);
  const x = sampleProc(stack.broker!.pid);
  if (x) peakRss = Math.max(peakRss, x.rssMb);
  timeline.push({ s: r1((now - killedAt) / 1000), connected, rss_mb: x ? r1(x.rssMb) : null });
  if (now - lastLine >= 5000) {
    lastLine = now;
    progress(`${((now - killedAt) / 1000).toFixed(0)} s after the kill: ${connected} of ${G} connected`);
  }
  if (connected === G && gws.every((g) => g.reconnectedAt > killedAt)) break;
  if (now - killedAt > TIMEOUT_MS) {
    progress(`NOT all back after ${TIMEOUT_MS / 1000} s: ${connected} of ${G}`);
    break;
  }
  await sleep(250);
}
const backAt = Math.max(...gws.map((g) => g.reconnectedAt));
const stormS = (Date.now() - upAt) / 1000;
const afterStorm = brokerFigures(stack.broker!.pid, storm0, stormS);
const health1 = await health(stack.healthUrl);
const first = gws.filter((g) => g.attempts.length > 0).map((g) => g.attempts[0]! - g.droppedAt);
const attempts = gws.reduce((n, g) => n + g.reconnects, 0);
const perSecond = new Map<number, number>();
for (const g of gws)
  for (const t of g.attempts)
    perSecond.set(Math.floor((t - killedAt) / 1000), (perSecond.get(Math.floor((t - killedAt) / 1000)) ?? 0) + 1);
progress(`all back ${((backAt - upAt) / 1000).toFixed(1)} s after the broker was up; ${attempts} attempts`);

// 4. More records after the restart, then wait until every record is acknowledged.
await sleep(Number(a['after-s']) * 1000);
run.stop();
const records = run.records();
progress(`${records} records in all; waiting for every acknowledgement`);
const drainUntil = Date.now() + TIMEOUT_MS;
while (Date.now() < drainUntil && !gws.every((g) => g.settled)) await sleep(500);
const unacked = gws.reduce((n, g) => n + (g.nextSeq - 1 - g.acked), 0);
const sent = new Map(gws.map((g) => [g.o.gateway, g.nextSeq]));
const audited = await audit({ url: stack.influx.url, db: 'qingcheng' }, PREFIX, t0 - 60_000, sent);
const sum = (f: (x: (typeof audited)[number]) => number) => audited.reduce((s, x) => s + f(x), 0);
const selfX = sampleProc(process.pid);
const brokerLimit = openFileLimit(stack.broker!.pid);

const report = {
  bench: 'broker-scale',
  gateways: G,
  source_addresses: ADDRS,
  broker: {
    persistence: 'in memory (no Redis): a restart loses sessions, queues and retained acks; gateways re-publish',
    connect_burst_per_address: limits.burst,
    connect_rate_per_address: limits.perSecond,
    open_file_limit: brokerLimit,
    // One descriptor per connection and a few dozen more; a storm briefly holds old and new sockets.
    open_files_used: afterConnect.open_files,
    deployer_must_set: `an open-file limit of at least ${2 * G} for the broker (systemd LimitNOFILE, ulimit -n, docker ulimits.nofile)`,
  },
  connect: {
    seconds_to_connect_all: r1(connectS),
    logins_per_s: Math.round(G / connectS),
    concurrency: Number(a.concurrency),
    broker: afterConnect,
    refused_rate: health0?.refusedRate ?? null,
    refused_login: health0?.refused ?? null,
  },
  steady: {
    seconds: Number(a['before-s']),
    envelopes_per_s: r1(G / (PUBLISH_MS / 1000)),
    broker: steady,
  },
  restart: {
    kill: 'SIGKILL',
    seconds_to_broker_up: r1((upAt - killedAt) / 1000),
    seconds_until_all_back_after_up: r1((backAt - upAt) / 1000),
    seconds_until_all_back_after_kill: r1((backAt - killedAt) / 1000),
    all_back: gws.every((g) => g.reconnectedAt > killedAt),
    reconnect_attempts: attempts,
    attempts_in_busiest_second: Math.max(0, ...perSecond.values()),
    first_attempt_ms_after_drop: quantiles(first),
    back_ms_after_up: quantiles(gws.map((g) => g.reconnectedAt - upAt)),
    refused_rate: health1?.refusedRate ?? null,
    refused_login: health1?.refused ?? null,
    // Logins whose gateway gave up (its 10 s connect timeout) while they waited for a scrypt check.
    abandoned_logins: health1?.abandonedLogins ?? null,
    logins: health1?.connects ?? null,
    broker: { ...afterStorm, peak_rss_during_storm_mb: r1(peakRss) },
    connected_timeline: timeline.filter((_, i) => i % 4 === 0).slice(0, 120),
  },
  records: {
    taken: records,
    before_restart: recordsBefore,
    acknowledged: gws.reduce((n, g) => n + g.acked + 1, 0),
    unacknowledged: unacked,
    stored: sum((x) => x.distinct),
    lost: sum((x) => x.lost),
    duplicated: sum((x) => x.duplicated),
    republished_envelopes: gws.reduce((n, g) => n + g.republished, 0),
  },
  generator: {
    rss_mb: selfX ? r1(selfX.rssMb) : null,
    peak_rss_mb: selfX ? r1(selfX.peakRssMb) : null,
    cpu_s: selfX && self0 ? r1(selfX.cpuS - self0.cpuS) : null,
    open_file_limit: fdLimit,
  },
  machine: { cores: cpus().length, loadavg_1m: r1(loadavg()[0]!) },
  ok: unacked === 0 && sum((x) => x.lost) === 0 && gws.every((g) => g.reconnectedAt > killedAt),
};
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
run.close();
await pool(gws, 1000, (g) => g.close());
await stack.stop();
process.exit(report.ok ? 0 : 1);
