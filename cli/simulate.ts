import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { templatesWithDir, type Template } from '../gateway/templates.ts';
import { Node } from '../protocol/config.ts';
import { log } from '../protocol/log.ts';
import { backfill } from '../simulators/backfill.ts';
import { AirFleet, type SimEndpoint } from '../simulators/stations.ts';
import { ModbusTcpSimServer } from '../simulators/modbus-server.ts';
import type { RsdSiteOptions } from '../simulators/models/rsd.ts';
import { rsdPusher } from '../simulators/rsd-push.ts';
import { Hj212Logger, loggerSites, type LoggerOptions, type LoggerSite } from '../simulators/hj212-logger.ts';
import { parseSm4Key, SM4_FORMS, type Sm4Form } from '../protocol/hj212-sm4.ts';
import { fieldSites, LOGGER_CLASSES, type FieldSite, type LoggerClass } from '../simulators/field-sites.ts';
import { nozzleIds, vaporRecords } from '../simulators/models/vapor.ts';
import { RecordPusher } from '../simulators/record-push.ts';
import { SEED_BASE, vaporSitesOf } from './network.ts';
import { hash01 } from '../simulators/random.ts';
import { int, parse, UsageError } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  template: {
    type: 'string',
    help: 'serve units of this device template instead of stations and analyzers (`qingcheng gateway templates` lists them)',
  },
  units: { type: 'string', default: '1', help: 'number of units of --template (unit ids 1..K on each port)' },
  'templates-dir': {
    type: 'string',
    help: 'a directory of your own template files (*.yaml) besides the built-in library; the written config names it',
  },
  stations: { type: 'string', default: '6', help: 'number of SIM-AQ6 micro-stations' },
  cems: { type: 'string', default: '0', help: 'number of SIM-CEMS smokestack analyzers' },
  'units-per-port': { type: 'string', default: '4', help: 'stations (unit ids 1..K) behind each Modbus TCP port' },
  port: { type: 'string', default: '5020', help: 'first TCP port (0 = free ports)' },
  host: { type: 'string', default: '127.0.0.1', help: 'address to listen on' },
  framing: {
    type: 'string',
    default: 'tcp',
    help: 'tcp (Modbus TCP) or rtu (RTU frames over TCP, as a serial device server in transparent mode)',
  },
  serial: {
    type: 'string',
    help: 'serve every station as an RTU slave on this serial device instead (e.g. one end of a socat pty pair)',
  },
  'baud-rate': { type: 'string', default: '9600', help: 'serial line speed (with --serial)' },
  'gateway-serial': {
    type: 'string',
    help: 'the serial device the gateway opens, in the written config (the other end of the pty pair)',
  },
  seed: {
    type: 'string',
    default: '1000',
    help: 'seed of the first station; each station is a pure function of seed and clock',
  },
  rsd: {
    type: 'string',
    default: '0',
    help: 'number of SIM-RSD remote-sensing sites pushing vehicle passes to a gateway http link',
  },
  'rsd-listen': {
    type: 'string',
    default: '127.0.0.1:8089',
    help: "where the gateway's http link listens (the sites push to http://<this>/records)",
  },
  'rsd-token': {
    type: 'string',
    env: 'QC_PUSH_TOKEN',
    help: "bearer token the sites send to the gateway's http link (written into --write-gateway-config; default: a new random one)",
  },
  'hj212-stations': {
    type: 'string',
    default: '0',
    help: 'national air stations (ST 22) whose HJ 212 loggers upload to a gateway hj212 link',
  },
  'hj212-cems': {
    type: 'string',
    default: '0',
    help: 'smokestacks (ST 31) whose HJ 212 loggers upload to a gateway hj212 link',
  },
  loggers: {
    type: 'string',
    default: '',
    help: "HJ 212 loggers of the field classes, CLASS:N,… (stack.cems, stack.nh3slip, fumes, voc, water.surface, water.source, water.outfall, noise, air.station), each at its class's ST and cadence with minute/hourly/daily data",
  },
  vapor: {
    type: 'string',
    default: '0',
    help: 'SIM-VAPOR vapour-recovery stations (4 nozzles each) pushing to the http link at --rsd-listen',
  },
  'hj212-target': {
    type: 'string',
    default: '127.0.0.1:9212',
    help: 'the gateway hj212 link the loggers connect to (host:port)',
  },
  'hj212-interval-s': {
    type: 'string',
    default: '30',
    help: "seconds between a logger's real-time uploads (HJ 212 RtdInterval, 30–3600)",
  },
  'hj212-sm4-key': {
    type: 'string',
    env: 'QC_HJ212_SM4_KEY',
    help: 'HJ 212-2025: every HJ 212 logger encrypts the CP of its data uploads with this SM4 key (32 hex digits, or 16 characters), and --write-gateway-config gives each device the key',
  },
  'hj212-sm4-form': {
    type: 'string',
    default: 'raw',
    help: 'how the SM4 ciphertext travels: raw (the bytes) or text ({0xE4,…}); which one HJ 212-2025 means is UNVERIFIED',
  },
  fault: {
    type: 'string',
    help: 'faults of Modbus devices, DEVICE=KIND,… (KIND: silent, slow (answers after 800 ms), exception (04), garbage (a byte count that does not match), swapped (word order reversed), flaky (silent 30 s of every 90 s)), e.g. aq-1002=silent',
  },
  'write-gateway-config': {
    type: 'string',
    help: 'also write a gateway config that polls these stations to this file',
  },
  gateway: {
    type: 'string',
    default: 'gw-sim-01',
    help: 'gateway id used in the written config, or the gateway that backfills',
  },
  'backfill-hours': {
    type: 'string',
    help: "instead of serving Modbus: publish the last N hours of the stations' readings as gateway --gateway, then exit",
  },
  mqtt: {
    type: 'string',
    default: 'mqtt://127.0.0.1:1883',
    env: 'QC_MQTT_URL',
    help: 'broker URL (for --backfill-hours)',
  },
  password: { type: 'string', env: 'QC_MQTT_PASSWORD', help: "the gateway's broker password (for --backfill-hours)" },
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng simulate [options]', OPTS);
  if (a['backfill-hours']) {
    const hours = int(a['backfill-hours'], 'backfill-hours', 1);
    const n = int(a.stations, 'stations', 1);
    const seed = int(a.seed, 'seed');
    const to = Math.floor(Date.now() / 60_000) * 60_000;
    const stations = Array.from({ length: n }, (_, i) => ({
      id: `aq-${String(seed + i).padStart(4, '0')}`,
      seed: seed + i,
    }));
    process.stdout.write(`backfilling ${hours} h of ${n} SIM-AQ6 station(s), one sample a minute, as ${a.gateway} …\n`);
    const count = await backfill({
      url: a.mqtt!,
      gateway: a.gateway!,
      ...(a.password ? { password: a.password } : {}),
      stations,
      from: to - hours * 3_600_000,
      to,
      stepMs: 60_000,
    });
    process.stdout.write(`${count} records acknowledged by ingest\n`);
    return;
  }
  if (a.framing !== 'tcp' && a.framing !== 'rtu')
    throw new UsageError(`--framing: expected tcp or rtu, got ${a.framing}`);
  const template = a.template ? templateNamed(a.template, '--template', a['templates-dir']) : undefined;
  const sm4 = sm4Option(a['hj212-sm4-key'], a['hj212-sm4-form']!);
  const fleet = await new AirFleet().start({
    stations: template ? 0 : int(a.stations, 'stations'),
    cems: template ? 0 : int(a.cems, 'cems'),
    ...(template ? { template: { def: template, units: int(a.units, 'units', 1) } } : {}),
    unitsPerServer: int(a['units-per-port'], 'units-per-port', 1),
    basePort: int(a.port, 'port'),
    host: a.host!,
    seed: int(a.seed, 'seed'),
    framing: a.framing,
    ...(a.serial ? { serial: { device: a.serial, baudRate: int(a['baud-rate'], 'baud-rate', 1) } } : {}),
  });
  const faultTimers = applyFaults(fleet, a.fault ?? '');
  for (const e of fleet.endpoints) {
    const at = e.serial
      ? `modbus-rtu ${e.serial.device} @${e.serial.baudRate}`
      : `${e.framing === 'rtu' ? 'modbus-rtu-tcp' : 'modbus-tcp'}://${e.host}:${e.port}`;
    process.stdout.write(`${e.model} ${e.id} at ${at} unit ${e.unit}\n`);
  }
  if (template?.unverified?.length)
    process.stdout.write(
      `${template.name}: ${template.unverified.length} UNVERIFIED fact(s) in ${template.file}; \`qingcheng gateway templates\` lists them\n`,
    );
  const sites = rsdSites(int(a.rsd, 'rsd'));
  const push = `http://${a['rsd-listen']}/records`;
  const token = a['rsd-token'] ?? randomBytes(18).toString('base64url');
  for (const s of sites) process.stdout.write(`SIM-RSD ${s.dev} pushing vehicle passes to ${push}\n`);
  const vapor = vaporSitesOf({ vapor: int(a.vapor, 'vapor'), nozzles: 4 });
  for (const v of vapor)
    process.stdout.write(`SIM-VAPOR ${v.dev} (nozzles ${nozzleIds(v).join(', ')}) pushing to ${push}\n`);
  const loggers = loggerSites(int(a['hj212-stations'], 'hj212-stations'), int(a['hj212-cems'], 'hj212-cems'));
  const field = fieldLoggers(a.loggers!);
  const target = a['hj212-target']!;
  for (const l of [...loggers, ...field])
    process.stdout.write(`HJ 212 logger ${l.id} (MN ${l.mn}, ST ${l.st}) uploading to ${target}\n`);
  const pushed = [
    ...sites.map((s) => s.dev),
    ...vapor.flatMap((v) => [v.dev, ...nozzleIds(v)].map((id) => ({ id, kind: 'vapor' }))),
  ];
  if (a['write-gateway-config']) {
    writeFileSync(
      a['write-gateway-config'],
      gatewayConfigFor(a.gateway!, fleet.endpoints, {
        ...(pushed.length ? { rsd: { listen: a['rsd-listen']!, devices: pushed, token } } : {}),
        ...(loggers.length + field.length
          ? {
              hj212: {
                listen: target,
                devices: [...loggers, ...field].map((l) => (sm4 ? { ...l, sm4Key: a['hj212-sm4-key']! } : l)),
              },
            }
          : {}),
        ...(a['gateway-serial'] ? { serialPeer: a['gateway-serial'] } : {}),
        ...(a['templates-dir'] ? { templatesDir: resolve(a['templates-dir']) } : {}),
      }),
    );
    log('info', 'wrote gateway config', { file: a['write-gateway-config'] });
  }
  const pusher = sites.length ? rsdPusher({ url: push, token }, sites).start() : undefined;
  const vaporPusher = vapor.length
    ? new RecordPusher({ url: push, token }, (from, to) => vapor.flatMap((v) => vaporRecords(v, from, to)), {
        everyMs: 10_000,
        what: 'vapour-recovery simulator',
      }).start()
    : undefined;
  const running = [
    ...startLoggers(loggers, target, int(a['hj212-interval-s'], 'hj212-interval-s', 1) * 1000, false, sm4),
    ...startLoggers(field, target, 0, true, sm4),
  ];
  onShutdown(async () => {
    for (const t of faultTimers) clearInterval(t);
    pusher?.stop();
    vaporPusher?.stop();
    for (const l of running) l.stop();
    await fleet.stop();
  });
}

/** `--hj212-sm4-key` and `--hj212-sm4-form`: the loggers' encryption, if any; a bad key is named, never echoed. */
function sm4Option(key: string | undefined, form: string): LoggerOptions['sm4'] {
  if (!SM4_FORMS.includes(form as Sm4Form))
    throw new UsageError(`--hj212-sm4-form: expected ${SM4_FORMS.join(' or ')}, got ${form}`);
  if (key === undefined) return undefined;
  try {
    return { key: parseSm4Key(key), form: form as Sm4Form };
  } catch (e) {
    throw new UsageError(`--hj212-sm4-key: ${(e as Error).message}`);
  }
}

/** `--loggers CLASS:N,…`: HJ 212 loggers of the field classes, seeds as in a stack's network. */
function fieldLoggers(list: string): FieldSite[] {
  return list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .flatMap((item) => {
      const [cls, n] = item.split(':');
      if (!Object.hasOwn(LOGGER_CLASSES, cls!))
        throw new UsageError(
          `--loggers: unknown class "${cls}"; classes are: ${Object.keys(LOGGER_CLASSES).join(', ')}`,
        );
      return fieldSites(cls as LoggerClass, int(n ?? '1', 'loggers', 1), SEED_BASE[cls as LoggerClass]);
    });
}

/** The template an option (`--template`, `--instruments`) names, among the built-in ones and those of `--templates-dir`. */
export function templateNamed(name: string, option: string, dir?: string): Template {
  const templates = templatesWithDir(new Node('(command line)', '--templates-dir', dir));
  const t = templates[name];
  if (!t)
    throw new UsageError(
      `${option}: unknown template "${name}"; templates are: ${Object.keys(templates).join(', ')} (\`qingcheng gateway templates\` describes them)`,
    );
  return t;
}

/** Pushing devices of a gateway config: an http link listening on `listen`, and the devices (an id alone is a remote-sensing site). */
export interface PushedSites {
  listen: string;
  devices: (string | { id: string; kind: string })[];
  /** The bearer token the http link requires. */
  token: string;
}

/** HJ 212 loggers of a gateway config: an hj212 link listening on `listen`, and the loggers. */
export interface LoggerLink {
  listen: string;
  /** `sm4Key`: the logger encrypts its CP with this key (written as the device's sm4_key). */
  devices: (Pick<LoggerSite, 'id' | 'mn'> & { kind: string; codes?: Record<string, string>; sm4Key?: string })[];
  /** The link's `history:` settings (fetching loggers' history), when not the defaults. */
  history?: Record<string, unknown>;
}

const FAULTS = ['silent', 'slow', 'exception', 'garbage', 'swapped', 'flaky'] as const;

/**
 * `--fault aq-1002=silent,aq-1003=flaky`: sets each named unit's fault on the bus that serves it, so a
 * deployer can watch the gateway back a dead unit off and keep its neighbours' cadence. Returns the
 * timers of flaky units (to stop).
 */
export function applyFaults(fleet: AirFleet, spec: string): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  for (const item of spec.split(',').filter(Boolean)) {
    const [dev, kind] = item.split('=').map((x) => x.trim());
    if (!FAULTS.includes(kind as (typeof FAULTS)[number]))
      throw new UsageError(`--fault ${item}: expected DEVICE=${FAULTS.join('|')}`);
    const e = fleet.endpoints.find((x) => x.id === dev);
    const bus =
      e &&
      fleet.servers.find(
        (b) => b.units.has(e.unit) && (e.serial || (b instanceof ModbusTcpSimServer && b.port === e.port)),
      );
    const unit = e && bus?.units.get(e.unit);
    if (!unit)
      throw new UsageError(
        `--fault ${item}: no simulated device ${dev} (the devices: ${fleet.endpoints.map((x) => x.id).join(', ')})`,
      );
    if (kind === 'silent') unit.silent = true;
    else if (kind === 'slow') unit.delayMs = 800;
    else if (kind === 'flaky') {
      let t = 0;
      timers.push(setInterval(() => (unit.silent = ++t % 9 >= 6), 10_000)); // 60 s answering, 30 s silent
    } else unit.fault = kind as 'exception' | 'garbage' | 'swapped';
    log('info', 'fault injected', { dev, fault: kind });
  }
  return timers;
}

/** A gateway config polling the given simulated instruments once a second (and taking pushed passes and HJ 212 uploads). */
export function gatewayConfigFor(
  gw: string,
  endpoints: SimEndpoint[],
  extra: {
    mqtt?: Record<string, unknown>;
    outbox?: Record<string, unknown>;
    rsd?: PushedSites;
    hj212?: LoggerLink;
    serialPeer?: string;
    /** A directory of the user's templates the devices name, for the gateway to load. */
    templatesDir?: string;
  } = {},
): string {
  // One link per TCP port or serial line; a serial line is opened at its other end (`serialPeer`) when given.
  const where = (e: SimEndpoint) => (e.serial ? `serial:${e.serial.device}` : `${e.framing}:${e.host}:${e.port}`);
  const links = [...new Map(endpoints.map((e) => [where(e), e])).values()];
  const linkName = (e: SimEndpoint) => `bus-${links.findIndex((l) => where(l) === where(e)) + 1}`;
  return stringify({
    gateway: { id: gw, ...(extra.templatesDir ? { templates_dir: extra.templatesDir } : {}) },
    mqtt: { url: 'mqtt://127.0.0.1:1883', ...extra.mqtt },
    outbox: { path: `${gw}.outbox.sqlite`, ...extra.outbox },
    links: [
      ...links.map((e, i) =>
        e.serial
          ? {
              name: `bus-${i + 1}`,
              type: 'modbus-rtu',
              device: extra.serialPeer ?? e.serial.device,
              baud_rate: e.serial.baudRate,
              timeout_ms: 1000,
            }
          : {
              name: `bus-${i + 1}`,
              type: e.framing === 'rtu' ? 'modbus-rtu-tcp' : 'modbus-tcp',
              host: e.host,
              port: e.port,
              timeout_ms: 1000,
            },
      ),
      ...(extra.rsd ? [{ name: 'rsd-platform', type: 'http', listen: extra.rsd.listen, token: extra.rsd.token }] : []),
      ...(extra.hj212
        ? [
            {
              name: 'hj212-loggers',
              type: 'hj212',
              listen: extra.hj212.listen,
              ...(extra.hj212.history ? { history: extra.hj212.history } : {}),
            },
          ]
        : []),
    ],
    devices: [
      ...endpoints.map((e) => ({
        id: e.id,
        kind: e.kind,
        link: linkName(e),
        unit: e.unit,
        template: e.model,
        poll_ms: 1000,
      })),
      ...(extra.rsd?.devices ?? []).map((d) =>
        typeof d === 'string' ? { id: d, kind: 'rsd', link: 'rsd-platform' } : { ...d, link: 'rsd-platform' },
      ),
      // A logger's codes (key → its platform code) become the device's codes (code → key) for the gateway.
      ...(extra.hj212?.devices ?? []).map((d) => ({
        id: d.id,
        kind: d.kind,
        link: 'hj212-loggers',
        mn: d.mn,
        ...(d.codes ? { codes: Object.fromEntries(Object.entries(d.codes).map(([k, c]) => [c, k])) } : {}),
        ...(d.sm4Key ? { sm4_key: d.sm4Key } : {}),
      })),
    ],
  });
}

/** Remote-sensing sites rsd-{seed}…, each a pure function of its seed and the clock. */
export function rsdSites(n: number, seed = 1): RsdSiteOptions[] {
  return Array.from({ length: n }, (_, i) => ({ dev: `rsd-${String(seed + i).padStart(4, '0')}`, seed: seed + i }));
}

/** Starts an HJ 212 logger per site, uploading to `target` (host:port). */
/**
 * Starts an HJ 212 logger per site, uploading to `target` (host:port) every `intervalMs` (0: each site's
 * own interval) with the interval data the site has. With `spread`, each logger keeps a phase of its
 * own after its first upload, so a network's uploads do not all land in the same second.
 */
export function startLoggers(
  sites: (LoggerSite | FieldSite)[],
  target: string,
  intervalMs: number,
  spread = false,
  sm4?: LoggerOptions['sm4'],
): Hj212Logger[] {
  const i = target.lastIndexOf(':');
  return sites.map((s) => {
    const every = intervalMs || ('intervalMs' in s ? s.intervalMs : 30_000);
    return new Hj212Logger({
      host: target.slice(0, i),
      port: Number(target.slice(i + 1)),
      mn: s.mn,
      st: s.st,
      intervalMs: every,
      factors: s.factors,
      ...('aggregates' in s ? { aggregates: s.aggregates } : {}),
      ...(spread ? { phaseMs: Math.floor(hash01(parseInt(s.mn.slice(-8), 16), 5) * every) } : {}),
      ...(sm4 ? { sm4 } : {}),
    }).start();
  });
}
