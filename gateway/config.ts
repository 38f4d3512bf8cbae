// The gateway's YAML config, validated with messages that name the file and key. See config/gateway.example.yaml.
import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configRoot, type Node } from '../protocol/config.ts';
import { DEVICE_KINDS, type DeviceKind } from '../protocol/kinds.ts';
import { CRC_VARIANTS, type CrcVariant } from '../protocol/hj212.ts';
import { parseSm4Key, type Sm4Key } from '../protocol/hj212-sm4.ts';
import { pollutant, pollutantByCode } from '../protocol/pollutants.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS, ID_PATTERN } from '../protocol/topics.ts';
import { parseRegister, parseStatus, templatesWithDir, type Template } from './templates.ts';

export interface MqttConfig {
  /** The first broker URL (what logs and TLS checks name). */
  url: string;
  /** Every broker URL, tried in turn on each reconnect (`url` first): brokers sharing one Redis. */
  urls: string[];
  username?: string;
  password?: string;
  prefix: string;
  shards: number;
  /** Envelopes awaiting PUBACK at once. */
  window: number;
  /** Records per envelope, at most. */
  batchMax: number;
  /** Re-publish records not acknowledged by ingest after this long. */
  republishMs: number;
  /** Records sent but not yet acknowledged, at most, before backlog replay pauses (live data still flows). */
  maxUnacked: number;
  statusMs: number;
  /** PEM files (absolute paths) for mqtts:// and wss://: the CA the broker's certificate is checked against, a client certificate. */
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface OutboxConfig {
  path: string;
  maxRecords: number;
  sync: 'full' | 'normal';
}

/** Modbus over TCP: MBAP (`modbus-tcp`), or RTU frames through a serial device server in transparent mode (`modbus-rtu-tcp`). */
export interface ModbusTcpLinkConfig {
  name: string;
  type: 'modbus-tcp' | 'modbus-rtu-tcp';
  host: string;
  port: number;
  timeoutMs: number;
}
/** Modbus RTU on a serial line (RS-485 through a USB adapter, a UART). */
export interface ModbusSerialLinkConfig {
  name: string;
  type: 'modbus-rtu';
  device: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  timeoutMs: number;
}
export type ModbusLinkConfig = ModbusTcpLinkConfig | ModbusSerialLinkConfig;
/**
 * An HTTP listener that instruments (or their vendor platform) push records to: remote-sensing sets
 * report one record per vehicle pass, which no poll can fetch.
 */
export interface HttpLinkConfig {
  name: string;
  type: 'http';
  host: string;
  port: number;
  /** What pushers send as `Authorization: Bearer <token>`; required unless `auth` is 'none'. */
  token?: string;
  /** 'none': take pushes from anyone who reaches the port (logged as a warning at start). */
  auth?: 'none';
  /** Serve HTTPS with this certificate and key (PEM files, absolute paths). */
  tls?: { cert: string; key: string };
}
/**
 * A TCP listener for HJ 212 data loggers: a station's logger connects to it as to a platform, and the
 * gateway answers each upload (9014) once it is in the outbox.
 */
export interface Hj212LinkConfig {
  name: string;
  type: 'hj212';
  host: string;
  port: number;
  offsetHours: number;
  /** Ask each logger its clock (CN 1011) when it connects and set it (CN 1012) past this drift; 0 (the default): never. */
  maxClockDriftS: number;
  /** Set by the config file (backfill on by default); a link built without it fetches no history. */
  history?: Hj212HistoryConfig;
}
/** Fetching what a logger holds for a hole in its minute, hourly or daily series (`history:` of an hj212 link). */
export interface Hj212HistoryConfig {
  /** Ask loggers for the missing windows (default true). */
  backfill: boolean;
  /** The longest window asked for at once, newest part first (`max_window_h`, default 48). */
  maxWindowMs: number;
  /** A request with no sign of an answer for this long has failed a try (`timeout_s`, default 60). */
  timeoutMs: number;
  /** Tries after the first before a window is given up (`retries`, default 2). */
  retries: number;
  /** The loggers' MinInterval: minutes between two minute-data uploads (`minute_interval_min`, default 10). */
  minuteIntervalMin: number;
}
/** HJ 212-2017's MinInterval values (§6.3.3, minutes). */
export const MIN_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30] as const;
export type LinkConfig = ModbusLinkConfig | HttpLinkConfig | Hj212LinkConfig;
export const isModbusLink = (l: LinkConfig): l is ModbusLinkConfig => l.type.startsWith('modbus-');

/** A device the gateway polls over Modbus. */
export interface PolledDeviceConfig {
  id: string;
  kind: DeviceKind;
  link: string;
  unit: number;
  pollMs: number;
  template: Template;
}
/** A device that pushes its records to an http link. */
export interface PushedDeviceConfig {
  id: string;
  kind: DeviceKind;
  link: string;
}
/** An HJ 212 data logger, known by its MN. */
export interface Hj212DeviceConfig {
  id: string;
  kind: DeviceKind;
  link: string;
  mn: string;
  pw?: string;
  crc: CrcVariant;
  scale?: Record<string, number>;
  /** Factor code → registry key, for what HJ 212-2017 gives no code (catering fumes: the platform's own). */
  codes?: Record<string, string>;
  /** HJ 212-2025 SM4 key: the logger encrypts the CP of its data uploads (docs/standards/hj212.md §10). */
  sm4Key?: Sm4Key;
}
export type DeviceConfig = PolledDeviceConfig | PushedDeviceConfig | Hj212DeviceConfig;
export const isPolled = (d: DeviceConfig): d is PolledDeviceConfig => 'template' in d;
export const isHj212 = (d: DeviceConfig): d is Hj212DeviceConfig => 'mn' in d;

export interface GatewayConfig {
  file: string;
  id: string;
  mqtt: MqttConfig;
  outbox: OutboxConfig;
  links: LinkConfig[];
  devices: DeviceConfig[];
}

const ID = { pattern: ID_PATTERN, hint: 'an id of letters, digits, . _ - (1-64)' };

export interface ParseOptions {
  /**
   * Secrets named by `*_env` keys whose variable is unset are listed here instead of failing: `--check`
   * validates a config on a machine that does not hold its secrets.
   */
  unsetSecrets?: { key: string; env: string }[];
}

export function loadGatewayConfig(file: string, o: ParseOptions = {}): GatewayConfig {
  return parseGatewayConfig(configRoot(file), o);
}

/** `sm4_key` (32 hex digits, or 16 characters) or `sm4_key_env` naming the variable that holds it. */
function sm4KeyOf(d: Node, o: ParseOptions): Sm4Key | undefined {
  if (d.get('sm4_key').present && d.get('sm4_key_env').present)
    d.get('sm4_key_env').fail('give either sm4_key or sm4_key_env, not both');
  const env = d.get('sm4_key_env');
  // Hex of digits only reads as a YAML number, whose digits are already lost.
  if (typeof d.get('sm4_key').value !== 'string' && d.get('sm4_key').present)
    d.get('sm4_key').fail('expected the key as a quoted string: sm4_key: "…" (32 hex digits)');
  const text = env.present ? secretFromEnv(env, "the device's HJ 212 SM4 key", o) : d.get('sm4_key').optStr();
  if (text === undefined) return undefined;
  try {
    return parseSm4Key(text);
  } catch (e) {
    // The message says what is wrong with the key without echoing it.
    return (env.present ? env : d.get('sm4_key')).fail(
      `${env.present ? `the SM4 key in ${env.optStr()}` : 'the SM4 key'}: ${(e as Error).message}`,
    );
  }
}

/** The value of the environment variable a `*_env` key names; unset fails, unless the caller collects it. */
function secretFromEnv(n: Node, what: string, o: ParseOptions): string | undefined {
  const name = n.optStr();
  if (name === undefined || process.env[name] !== undefined) return name === undefined ? undefined : process.env[name];
  if (!o.unsetSecrets)
    n.fail(`environment variable ${name} is not set (${what}; \`qingcheng gateway --check\` validates without it)`);
  o.unsetSecrets.push({ key: n.path, env: name });
  return undefined;
}

export function parseGatewayConfig(root: Node, opts: ParseOptions = {}): GatewayConfig {
  root.only('gateway', 'mqtt', 'outbox', 'links', 'devices');
  const gw = root.get('gateway').only('id', 'templates_dir');
  const id = gw.get('id').str(ID);
  // Templates of the user's own directory join the built-in library (gateway/devices/).
  const templates = templatesWithDir(gw.get('templates_dir'));
  const m = root
    .get('mqtt')
    .only(
      'url',
      'username',
      'password',
      'password_env',
      'prefix',
      'shards',
      'window',
      'batch_max',
      'republish_s',
      'max_unacked',
      'status_s',
      'ca',
      'cert',
      'key',
    );
  const passwordEnv = m.get('password_env').optStr();
  const envPassword = secretFromEnv(m.get('password_env'), "the gateway's MQTT password", opts);
  const urls = brokerUrls(m.get('url'));
  const mqtt: MqttConfig = {
    url: urls[0]!,
    urls,
    username: m.get('username').optStr() ?? id,
    password: passwordEnv !== undefined ? envPassword : m.get('password').optStr(),
    prefix: m.get('prefix').str({ def: DEFAULT_PREFIX }),
    shards: m.get('shards').num({ def: DEFAULT_SHARDS, min: 1, max: 1024, integer: true }),
    window: m.get('window').num({ def: 8, min: 1, max: 1000, integer: true }),
    batchMax: m.get('batch_max').num({ def: 200, min: 1, max: 5000, integer: true }),
    republishMs: m.get('republish_s').num({ def: 30, min: 1 }) * 1000,
    maxUnacked: m.get('max_unacked').num({ def: 20_000, min: 1, integer: true }),
    statusMs: m.get('status_s').num({ def: 10, min: 1 }) * 1000,
  };
  const mqttTls = parseMqttTls(m, root.file, mqtt.url, mqtt.username ?? id);
  if (mqttTls) mqtt.tls = mqttTls;
  const o = root.get('outbox').only('path', 'max_records', 'sync');
  const outbox: OutboxConfig = {
    path: resolve(dirname(root.file), o.get('path').str({ def: `${id}.outbox.sqlite` })),
    maxRecords: o.get('max_records').num({ def: 1_000_000, min: 100, integer: true }),
    sync: o.get('sync').oneOf(['full', 'normal'] as const, 'full'),
  };
  const links = root
    .get('links')
    .list()
    .map((l) => parseLink(l, opts, root.file));
  const names = new Set<string>();
  for (const [i, l] of links.entries()) {
    if (names.has(l.name)) root.get('links').list()[i]!.get('name').fail(`"${l.name}" is used by another link`);
    names.add(l.name);
  }
  const ids = new Set<string>();
  const linkTypes = new Map(links.map((l) => [l.name, l.type]));
  const mns = new Set<string>();
  const devices = root
    .get('devices')
    .list()
    .map((d) => {
      const dev = parseDevice(d, linkTypes, templates, opts);
      if (ids.has(dev.id)) d.get('id').fail(`"${dev.id}" is used by another device`);
      ids.add(dev.id);
      if (isHj212(dev)) {
        const key = `${dev.link}\0${dev.mn}`;
        if (mns.has(key)) d.get('mn').fail(`MN ${dev.mn} is used by another device of link ${dev.link}`);
        mns.add(key);
      }
      return dev;
    });
  if (devices.length === 0) root.get('devices').fail('expected at least one device');
  return { file: root.file, id, mqtt, outbox, links, devices };
}

/** A PEM file a key names, relative to the config file, readable now. */
function pemFile(n: Node, configFile: string): string | undefined {
  const name = n.optStr();
  if (name === undefined) return undefined;
  const path = resolve(dirname(configFile), name);
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    n.fail(`cannot read ${path} (${(e as NodeJS.ErrnoException).code}): a PEM file`);
  }
  return path;
}

/** The uplink's TLS files: only for a TLS URL, a client certificate with its key. */
const BROKER_URL = { pattern: /^(mqtts?|wss?|tcp):\/\//, hint: 'a URL such as mqtt://host:1883' };

/**
 * `url: mqtt://host:1883`, or a list of brokers that share one Redis (`url: [mqtt://a:1883,
 * mqtt://b:1883]`): the gateway moves to the next when one goes away. One scheme for all, so the TLS
 * settings fit each.
 */
function brokerUrls(n: Node): string[] {
  if (!Array.isArray(n.value)) return [n.str({ def: 'mqtt://127.0.0.1:1883', ...BROKER_URL })];
  const urls = n.list().map((u) => u.str(BROKER_URL));
  if (!urls.length) n.fail('expected at least one broker URL');
  const scheme = (u: string) => u.slice(0, u.indexOf(':'));
  const other = urls.find((u) => scheme(u) !== scheme(urls[0]!));
  if (other) n.fail(`every broker URL needs the same scheme: ${urls[0]} and ${other}`);
  return urls;
}

function parseMqttTls(m: Node, configFile: string, url: string, username: string): MqttConfig['tls'] {
  const ca = pemFile(m.get('ca'), configFile);
  const cert = pemFile(m.get('cert'), configFile);
  const key = pemFile(m.get('key'), configFile);
  if (cert && !key) m.get('key').fail('required with mqtt.cert: the private key of the client certificate');
  if (key && !cert) m.get('cert').fail('required with mqtt.key: the client certificate');
  if (!ca && !cert) return undefined;
  if (!/^(mqtts|wss):\/\//.test(url))
    m.get('url').fail(`ca, cert and key are for TLS: expected an mqtts:// or wss:// URL, got ${url}`);
  if (cert) checkCn(m.get('cert'), cert, username);
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/** The broker logs a certificate in as its CN: one that names someone else would be refused there, later. */
function checkCn(n: Node, file: string, username: string): void {
  let cn: string | undefined;
  try {
    cn = /^CN=(.*)$/m.exec(new X509Certificate(readFileSync(file)).subject)?.[1];
  } catch (e) {
    n.fail(`${file} is not a PEM certificate (${(e as Error).message})`);
  }
  if (cn !== username)
    n.fail(`the certificate's CN is ${cn ?? '(none)'}, not ${username}: the broker logs a certificate in as its CN`);
}

function listenOn(n: Node, example: string): { host: string; port: number } {
  const listen = n.str({ pattern: /^[^\s:]+:\d{1,5}$/, hint: `host:port to listen on, such as ${example}` });
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  if (port > 65535) n.fail(`port ${port} is above 65535`);
  return { host, port };
}

function parseHistory(h: Node): Hj212HistoryConfig {
  h.only('backfill', 'max_window_h', 'timeout_s', 'retries', 'minute_interval_min');
  return {
    backfill: h.get('backfill').bool(true),
    maxWindowMs: h.get('max_window_h').num({ def: 48, min: 1, max: 24 * 90 }) * 3_600_000,
    timeoutMs: h.get('timeout_s').num({ def: 60, min: 1, max: 3600 }) * 1000,
    retries: h.get('retries').num({ def: 2, min: 0, max: 10, integer: true }),
    minuteIntervalMin: h.get('minute_interval_min').oneOf(MIN_INTERVALS, 10),
  };
}

function parseLink(l: Node, opts: ParseOptions, configFile: string): LinkConfig {
  const type = l.get('type').oneOf(['modbus-tcp', 'modbus-rtu', 'modbus-rtu-tcp', 'http', 'hj212'] as const);
  const timeoutMs = () => l.get('timeout_ms').num({ def: 1000, min: 10, max: 60_000, integer: true });
  if (type === 'modbus-rtu') {
    l.only('name', 'type', 'device', 'baud_rate', 'parity', 'data_bits', 'stop_bits', 'timeout_ms');
    return {
      name: l.get('name').str(ID),
      type,
      device: l.get('device').str({ hint: 'the serial device, such as /dev/ttyUSB0' }),
      baudRate: l.get('baud_rate').oneOf([1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const, 9600),
      parity: l.get('parity').oneOf(['none', 'even', 'odd'] as const, 'none'),
      dataBits: l.get('data_bits').oneOf([7, 8] as const, 8),
      stopBits: l.get('stop_bits').oneOf([1, 2] as const, 1),
      timeoutMs: timeoutMs(),
    };
  }
  if (type === 'hj212') {
    l.only('name', 'type', 'listen', 'utc_offset_hours', 'max_clock_drift_s', 'history');
    return {
      name: l.get('name').str(ID),
      type,
      ...listenOn(l.get('listen'), '127.0.0.1:9212'),
      offsetHours: l.get('utc_offset_hours').num({ def: 8, min: -12, max: 14 }),
      maxClockDriftS: l.get('max_clock_drift_s').num({ def: 0, min: 0, max: 86_400 }),
      history: parseHistory(l.get('history')),
    };
  }
  if (type === 'http') {
    l.only('name', 'type', 'listen', 'token', 'token_env', 'auth', 'tls');
    const { host, port } = listenOn(l.get('listen'), '127.0.0.1:8089');
    const auth = l.get('auth').oneOf(['token', 'none'] as const, 'token');
    const hasToken = l.get('token_env').present || l.get('token').present;
    if (auth === 'token' && !hasToken)
      l.get('token').fail(
        'required: the secret pushers send as "Authorization: Bearer <token>" (token, or token_env naming a variable); auth: none takes pushes from anyone',
      );
    if (auth === 'none' && hasToken) l.get('auth').fail('"none" contradicts the token given: drop one of them');
    const token = l.get('token_env').present
      ? secretFromEnv(l.get('token_env'), 'the token pushers must send', opts)
      : l.get('token').optStr();
    const t = l.get('tls').only('cert', 'key');
    const pem = (k: string, what: string) => pemFile(t.get(k), configFile) ?? t.get(k).fail(`required: ${what}`);
    const tls = t.present
      ? { cert: pem('cert', 'the PEM certificate (chain) to serve'), key: pem('key', 'its PEM private key') }
      : undefined;
    return {
      name: l.get('name').str(ID),
      type,
      host,
      port,
      ...(token ? { token } : {}),
      ...(auth === 'none' ? { auth } : {}),
      ...(tls ? { tls } : {}),
    };
  }
  l.only('name', 'type', 'host', 'port', 'timeout_ms');
  return {
    name: l.get('name').str(ID),
    type,
    host: l.get('host').str(),
    port: l.get('port').num({ def: 502, min: 1, max: 65535, integer: true }),
    timeoutMs: timeoutMs(),
  };
}

function parseDevice(
  d: Node,
  links: Map<string, LinkConfig['type']>,
  templates: Record<string, Template>,
  opts: ParseOptions = {},
): DeviceConfig {
  const id = d.get('id').str(ID);
  const link = d.get('link').str();
  if (!links.has(link))
    d.get('link').fail(`no link named "${link}"; links are: ${[...links.keys()].join(', ') || '(none)'}`);
  const kindOr = (def?: DeviceKind) => d.get('kind').oneOf(Object.keys(DEVICE_KINDS) as DeviceKind[], def);
  if (links.get(link) === 'hj212') {
    // HJ 212 packets name their factors by code: the MN says which device, the codes which readings.
    d.only('id', 'kind', 'link', 'mn', 'pw', 'crc', 'scale', 'codes', 'sm4_key', 'sm4_key_env');
    const dev: Hj212DeviceConfig = {
      id,
      link,
      kind: kindOr(),
      mn: d.get('mn').str({
        pattern: /^[0-9A-Za-z_-]{1,32}$/,
        hint: "the data logger's MN (24 hex characters in HJ 212-2017; 14 in 2005-style loggers)",
      }),
      crc: d.get('crc').oneOf(CRC_VARIANTS, 'hj212'),
    };
    const pw = d.get('pw').optStr();
    if (pw !== undefined) dev.pw = pw;
    const sm4Key = sm4KeyOf(d, opts);
    if (sm4Key) dev.sm4Key = sm4Key;
    if (d.get('codes').present) {
      dev.codes = {};
      for (const code of Object.keys(d.get('codes').value as object)) {
        const key = d
          .get('codes')
          .get(code)
          .str({
            pattern: /^[a-z0-9_]+$/,
            hint: 'a registry key (fumes, nmhc, …)',
          });
        if (!pollutant(key)) d.get('codes').get(code).fail(`"${key}" is not a key of the field registry`);
        dev.codes[code] = key;
      }
    }
    if (d.get('scale').present) {
      dev.scale = {};
      for (const code of Object.keys(d.get('scale').value as object)) {
        if (!pollutantByCode(code) && !(dev.codes && Object.hasOwn(dev.codes, code)))
          d.get('scale')
            .get(code)
            .fail(`"${code}" is not an HJ 212 factor code of the registry (a34004, a21026, 02, …)`);
        dev.scale[code] = d.get('scale').get(code).num();
      }
    }
    return dev;
  }
  if (links.get(link) === 'http') {
    // Pushed records name their fields themselves: no register map, unit or poll period.
    d.only('id', 'kind', 'link');
    return { id, link, kind: kindOr() };
  }
  d.only('id', 'kind', 'link', 'unit', 'poll_ms', 'template', 'registers', 'status');
  const unit = d.get('unit').num({ def: 1, min: 0, max: 255, integer: true });
  const pollMs = d.get('poll_ms').num({ def: 1000, min: 100, integer: true });
  let template: Template;
  if (d.get('template').present) {
    const name = d.get('template').str();
    const t =
      templates[name] ??
      d
        .get('template')
        .fail(
          `unknown template "${name}"; templates are: ${Object.keys(templates).join(', ')} (\`qingcheng gateway templates\` describes them)`,
        );
    if (d.get('registers').present) d.get('registers').fail('give either a template or registers, not both');
    template = t;
  } else {
    const regs = d
      .get('registers')
      .list()
      .map((r) => parseRegister(r));
    if (regs.length === 0) d.get('registers').fail('expected a template or at least one register');
    const status = d.get('status').present ? parseStatus(d.get('status')) : undefined;
    template = {
      name: `${id}-custom`,
      kind: 'air.micro',
      description: 'register map from config',
      registers: regs,
      ...(status ? { status } : {}),
    };
  }
  const kind = kindOr(template.kind);
  return { id, kind, link, unit, pollMs, template };
}
