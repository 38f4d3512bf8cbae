// `qingcheng load`: a city's worth of gateways and devices over MQTT, against a broker given or a stack
// started here, and an honest report: sent, acknowledged, stored (the seq audit), latencies, rates, and
// what each process spent. JSON on stdout, progress on stderr; exit 1 when anything was lost.
import { cpus, loadavg } from 'node:os';
import { DEFAULT_SHARDS, shardOf, shardsOwned, Topics } from '../protocol/topics.ts';
import { FleetGateway } from '../simulators/mqtt-load.ts';
import { CliError, int, parse, UsageError } from './args.ts';
import { audit, auditQueries, type AuditTarget, type GatewayAudit } from './load/audit.ts';
import { generate } from './load/generate.ts';
import { Histogram } from './load/latency.ts';
import { askedRate, HOHHOT, mixFrom, planGateways, scaleMix, type DeviceClass } from './load/plan.ts';
import { costOf, sampleProc, type ProcSample } from './load/proc-stats.ts';
import { rawWriteRate, type RawRate } from './load/raw-write.ts';
import { LoadStack } from './load/stack.ts';

const USAGE = `Usage: qingcheng load [options]

Simulates a city's monitoring network (by default Hohhot's plan: ${HOHHOT.map((c) => `${c.count} ${c.kind}`).join(', ')})
spread over --gateways gateways, each device at its class's cadence × --speed, for --minutes (or
--records). Without --broker it starts its own influxd, broker and --workers ingest workers. Prints a JSON
report on stdout (progress on stderr) and exits with 1 when any record was lost, stored twice or left
unacknowledged. docs/scaling.md reads the figures.`;

const OPTS = {
  gateways: { type: 'string', default: '200', help: 'gateways the devices are dealt over' },
  speed: { type: 'string', default: '1', help: 'cadence multiplier: 1 real time, 10, 100 (any number > 0)' },
  minutes: { type: 'string', default: '1', help: 'how long devices take samples (decimals allowed)' },
  records: { type: 'string', help: 'stop after this many records in all (before --minutes is up)' },
  mix: {
    type: 'string',
    help: 'device classes and counts instead of the Hohhot plan, e.g. "air.micro=50,noise=20" (cadences stay)',
  },
  scale: { type: 'string', default: '1', help: "multiply the mix's counts (0.1 for a tenth of the city)" },
  workers: { type: 'string', default: '1', help: 'ingest workers of the stack started here (they split the shards)' },
  shards: { type: 'string', default: String(DEFAULT_SHARDS), help: 'up/ shards (the same as the broker and ingest)' },
  broker: { type: 'string', help: 'use this broker (mqtt://host:port) instead of starting a stack' },
  password: {
    type: 'string',
    env: 'QC_GW_PASSWORD',
    help: 'password of every load gateway user on --broker (`qingcheng broker user add --role gateway`)',
  },
  'gateway-prefix': { type: 'string', default: 'gw-load-', help: 'gateway ids are {prefix}001, {prefix}002, …' },
  'influx-url': {
    type: 'string',
    help: 'with --broker: the InfluxDB its ingest writes to, for the seq audit (none: stored is not counted)',
  },
  db: { type: 'string', default: 'qingcheng', help: 'database of the audit' },
  'influx-username': { type: 'string', env: 'INFLUX_USERNAME', help: 'InfluxDB user of the audit' },
  'influx-password': { type: 'string', env: 'INFLUX_PASSWORD', help: 'InfluxDB password of the audit' },
  batch: { type: 'string', default: '200', help: 'records per envelope at most' },
  window: { type: 'string', default: '8', help: 'envelopes per gateway awaiting their PUBACK at most' },
  'publish-ms': { type: 'string', default: '1000', help: 'each gateway publishes what its devices took this often' },
  'republish-s': { type: 'string', default: '30', help: 're-publish what stays unacknowledged this long' },
  'drain-s': { type: 'string', default: '60', help: 'after the last sample, wait this long for acknowledgements' },
  'raw-lines': {
    type: 'string',
    help: "lines for influxd's raw /write rate, measured first (own stack only; default: the run's records, 10k–100k; 0 = skip)",
  },
  'connect-burst': {
    type: 'string',
    default: '100',
    help: "with --broker: gateways connecting at once (the broker's --connect-burst per address)",
  },
  'connect-rate': {
    type: 'string',
    default: '20',
    help: "with --broker: gateways connecting a second after the burst (the broker's --connect-rate)",
  },
  keep: { type: 'boolean', help: "keep the started stack's directory (database, users) after the run" },
} as const;

const progress = (s: string) => process.stderr.write(`load: ${s}\n`);

function positive(v: string | undefined, name: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n))
    throw new UsageError(`--${name}: expected a number > 0, got ${JSON.stringify(v)}`);
  return n;
}

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, USAGE, OPTS);
  const G = int(a.gateways, 'gateways', 1);
  const speed = positive(a.speed, 'speed');
  const minutes = positive(a.minutes, 'minutes');
  const maxRecords = a.records !== undefined ? int(a.records, 'records', 1) : Infinity;
  const workers = int(a.workers, 'workers', 1);
  const shards = int(a.shards, 'shards', 1);
  const batch = int(a.batch, 'batch', 1);
  const window = int(a.window, 'window', 1);
  const publishMs = int(a['publish-ms'], 'publish-ms', 1);
  const republishMs = int(a['republish-s'], 'republish-s', 1) * 1000;
  const drainMs = int(a['drain-s'], 'drain-s') * 1000;
  const burst = int(a['connect-burst'], 'connect-burst', 1);
  const rate = int(a['connect-rate'], 'connect-rate', 1);
  if (batch > 5000) throw new UsageError('--batch: an envelope holds at most 5000 records');
  let mix: DeviceClass[];
  try {
    mix = scaleMix(a.mix ? mixFrom(a.mix) : HOHHOT, positive(a.scale, 'scale'));
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError(`--mix: ${(e as Error).message}`);
  }
  if (a.broker && !a.password)
    throw new UsageError('--broker needs --password (or QC_GW_PASSWORD) of the gateway users');
  if (!a.broker && workers > shards) throw new UsageError(`--workers ${workers}: at most --shards ${shards}`);
  const plans = planGateways(mix, G, speed, a['gateway-prefix']);
  const asked = askedRate(mix, speed);
  const devices = plans.reduce((s, p) => s + p.devices.length, 0);
  const expected = Math.min(maxRecords, Math.round(asked * minutes * 60));
  progress(
    `${devices} devices on ${G} gateways, asking ${asked.toFixed(1)} records/s for ${minutes} min (about ${expected} records)`,
  );

  const password = a.password ?? `load-${Math.random().toString(36).slice(2, 12)}`;
  const stack = a.broker
    ? undefined
    : new LoadStack({ gateways: plans.map((p) => p.gw), password, workers, shards, progress });
  let stopped = false;
  const stopStack = async () => {
    if (stopped) return;
    stopped = true;
    await stack?.stop(a.keep);
    if (a.keep && stack) progress(`kept ${stack.dir}`);
  };
  let aborted = false;
  const onSignal = () => {
    if (aborted) process.exit(130);
    aborted = true;
    progress('stopping early: draining and reporting what was sent (again to quit at once)');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  const gws: FleetGateway[] = [];
  try {
    let raw: RawRate | null = null;
    if (stack) {
      await stack.start();
      const n =
        a['raw-lines'] !== undefined ? int(a['raw-lines'], 'raw-lines') : Math.min(100_000, Math.max(10_000, expected));
      if (n > 0) {
        raw = await rawWriteRate(stack.influx.url, 'raw', plans, n, Date.now());
        progress(`influxd raw /write: ${raw.lines_per_s} lines/s (${n} lines)`);
      }
    }
    const url = a.broker ?? stack!.mqttUrl;
    const topics = new Topics(undefined, shards);
    const latency = { publishToAck: new Histogram(), sampleToAck: new Histogram() };
    for (const p of plans) {
      const gw = new FleetGateway({ url, gateway: p.gw, password, batch, window, republishMs, topics });
      gw.onAcked = (e, now) => {
        latency.publishToAck.add(now - e.publishedAt);
        for (const ts of e.sampleTs) latency.sampleToAck.add(now - ts);
      };
      gws.push(gw);
    }
    await connectAll(gws, stack ? gws.length : burst, stack ? gws.length : rate);
    progress(`${G} gateways connected to ${url}`);

    const procs = stack?.processes() ?? [];
    const before = new Map<number, ProcSample | null>(procs.map((p) => [p.pid, sampleProc(p.pid)]));
    const selfBefore = sampleProc(process.pid);
    const run = await generate(plans, gws, {
      endAt: Date.now() + minutes * 60_000,
      maxRecords,
      publishMs,
      tickMs: Math.min(100, publishMs),
      progress,
      aborted: () => aborted,
    });
    progress(
      `took ${run.records} records in ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s; waiting for acknowledgements`,
    );
    const drained = await drain(gws, drainMs);
    const doneAt = Date.now();
    const seconds = (doneAt - run.startedAt) / 1000;
    const acknowledged = gws.reduce((s, g) => s + g.acked + 1, 0);
    const costs = [
      ...procs.flatMap((p) => {
        const b = before.get(p.pid);
        const x = sampleProc(p.pid);
        return b && x ? [costOf(p.name, p.pid, b, x, acknowledged, seconds)] : [];
      }),
      ...(selfBefore
        ? [costOf('load (this process)', process.pid, selfBefore, sampleProc(process.pid)!, acknowledged, seconds)]
        : []),
    ];

    const target: AuditTarget | null = stack
      ? { url: stack.influx.url, db: 'qingcheng' }
      : a['influx-url']
        ? {
            url: a['influx-url'],
            db: a.db!,
            ...(a['influx-username'] ? { user: a['influx-username'], password: a['influx-password'] ?? '' } : {}),
          }
        : null;
    const sent = new Map(gws.map((g) => [g.o.gateway, g.nextSeq]));
    const audited: GatewayAudit[] | null = target
      ? await audit(target, a['gateway-prefix']!, run.startedAt - 1000, sent)
      : null;
    const sum = (f: (x: GatewayAudit) => number) => audited?.reduce((s, x) => s + f(x), 0) ?? null;
    const stored = sum((x) => x.distinct);
    const lost = audited ? sum((x) => x.lost)! : run.records - acknowledged;
    const duplicated = sum((x) => x.duplicated);
    const unacknowledged = run.records - acknowledged;
    const pipelineRate = acknowledged / seconds;
    const takeSeconds = (run.endedAt - run.startedAt) / 1000;
    const r1 = (x: number) => Math.round(x * 10) / 10;

    const report = {
      command: 'load',
      plan: {
        mix: a.mix ? 'custom' : 'hohhot',
        scale: Number(a.scale),
        classes: mix.map((c) => ({
          kind: c.kind,
          devices: c.count,
          cadence_s: c.cadenceS,
          events_per_hour: c.eventsPerHour,
        })),
        devices,
        gateways: G,
        speed,
        minutes,
        max_records: Number.isFinite(maxRecords) ? maxRecords : null,
        batch,
        window,
        publish_ms: publishMs,
      },
      stack: stack
        ? {
            started: true,
            broker: stack.mqttUrl,
            influxd: stack.influx.url,
            workers,
            shards,
            shards_per_worker: Array.from({ length: workers }, (_, i) => shardsOwned(i, workers, shards).length),
            gateways_per_worker: Array.from(
              { length: workers },
              (_, i) => plans.filter((p) => shardOf(p.gw, shards) % workers === i).length,
            ),
          }
        : { started: false, broker: url, shards },
      records: {
        taken: run.records,
        sent: gws.reduce((s, g) => s + g.sent, 0),
        acknowledged,
        stored,
        lost,
        duplicated,
        unacknowledged,
      },
      audit: target
        ? {
            query: auditQueries(a['gateway-prefix']!, run.startedAt - 1000),
            gateways_with_problems: audited!.filter((x) => x.lost || x.duplicated || x.count !== x.sent).slice(0, 20),
          }
        : { skipped: 'no --influx-url: stored records were not counted' },
      rate: {
        asked_records_per_s: r1(asked),
        taken_records_per_s: r1(run.records / takeSeconds),
        acknowledged_records_per_s: r1(pipelineRate),
        stored_records_per_s: stored === null ? null : r1(stored / seconds),
        seconds_taking: r1(takeSeconds),
        seconds_until_acknowledged: r1(seconds),
        kept_up: run.records >= Math.min(maxRecords, asked * takeSeconds) * 0.98 && drained,
      },
      latency_ms: {
        publish_to_ack: latency.publishToAck.summary(),
        // The ack is sent once InfluxDB has answered 2xx, so this bounds sample → stored from above.
        sample_to_ack: latency.sampleToAck.summary(),
      },
      envelopes: {
        published: gws.reduce((s, g) => s + g.envelopes, 0),
        republished: gws.reduce((s, g) => s + g.republished, 0),
        // Resend requests served (docs/protocol.md §5.1): a lease worker took the gateway's shard.
        resends: gws.reduce((s, g) => s + g.resends, 0),
        reconnects: gws.reduce((s, g) => s + g.reconnects, 0),
      },
      processes: costs,
      influxd_raw_write: raw,
      pipeline_over_raw: raw ? Number((pipelineRate / raw.lines_per_s).toPrecision(3)) : null,
      machine: {
        cores: cpus().length,
        loadavg_1m: r1(loadavg()[0]!),
        shared: 'figures are of this machine at this moment',
      },
      ok: lost === 0 && !duplicated && unacknowledged === 0,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (!report.ok) progress(`NOT OK: ${lost} lost, ${duplicated ?? 0} stored twice, ${unacknowledged} unacknowledged`);
    await Promise.all(gws.map((g) => g.close()));
    await stopStack();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (!report.ok) process.exitCode = 1;
  } catch (e) {
    await Promise.all(gws.map((g) => g.close().catch(() => undefined)));
    await stopStack().catch(() => undefined);
    throw e instanceof CliError || e instanceof UsageError ? e : new CliError(`load failed: ${(e as Error).message}`);
  }
}

/** Connects the gateways `burst` at once, then `perSecond` a second, as the broker's per-address limits allow. */
async function connectAll(gws: FleetGateway[], burst: number, perSecond: number): Promise<void> {
  let i = 0;
  const wave = async (n: number) => {
    await Promise.all(gws.slice(i, i + n).map((g) => g.connect())).catch((e: Error) => {
      throw new CliError(
        `${e.message} (each load gateway needs a broker user of role gateway named for it: \`qingcheng broker user add --role gateway --username ${gws[0]!.o.gateway}\` …; a broker that closes connections unanswered limits attempts per address: raise its --connect-burst and --connect-rate, or lower ours)`,
      );
    });
    i += n;
  };
  await wave(burst);
  while (i < gws.length) {
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    await wave(Math.max(1, Math.floor((perSecond * (Date.now() - t)) / 1000)));
  }
}

/** Waits until every gateway's records are acknowledged, or `ms` passed, keeping their windows and re-publishing going. */
async function drain(gws: FleetGateway[], ms: number): Promise<boolean> {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const g of gws) {
      g.pump();
      g.tick(now);
    }
  }, 100);
  let timeout: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    Promise.all(gws.map((g) => g.whenSettled())).then(() => true),
    new Promise<boolean>((r) => (timeout = setTimeout(() => r(false), ms))),
  ]);
  clearInterval(timer);
  clearTimeout(timeout);
  if (!ok) progress(`not everything was acknowledged within ${ms / 1000} s`);
  return ok;
}
