import { Broker, type BrokerOptions } from '../broker/server.ts';
import {
  addUser,
  listUsers,
  loadUsers,
  removeUser,
  ROLES,
  SCRYPT_COST,
  SCRYPT_COSTS,
  setPassword,
  type Role,
} from '../broker/users.ts';
import { log } from '../protocol/log.ts';
import { Metrics, serveMetrics } from '../protocol/metrics.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS, ID_PATTERN } from '../protocol/topics.ts';
import { int, parse, UsageError } from './args.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  port: { type: 'string', default: '1883', help: 'MQTT TCP port' },
  host: {
    type: 'string',
    default: '127.0.0.1',
    help: 'address every listener binds (MQTT, TLS, WebSocket, health, metrics); 0.0.0.0 for every interface',
  },
  users: { type: 'string', default: 'config/users.yaml', help: 'users file (username, role, scrypt password hash)' },
  'health-port': { type: 'string', default: '8081', help: 'HTTP port of GET /health (0 = any free port)' },
  'metrics-port': {
    type: 'string',
    help: 'serve Prometheus metrics at GET /metrics on this port, on --host (0 = any free port; unset = none)',
  },
  'ws-port': {
    type: 'string',
    help: 'also serve MQTT over WebSocket on this port, at /mqtt (for the operator console; 0 = any free port)',
  },
  'tls-port': {
    type: 'string',
    help: 'also serve MQTT over TLS (mqtts) on this port (0 = any free port; 8883 is usual)',
  },
  'wss-port': {
    type: 'string',
    help: 'also serve MQTT over WebSocket over TLS (wss) on this port, at /mqtt (0 = any free port)',
  },
  'tls-cert': { type: 'string', help: 'PEM certificate (chain) of the TLS listeners; re-read on SIGHUP' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert' },
  'tls-ca': {
    type: 'string',
    help: "PEM CA: a client certificate it signed logs in as the user its CN names (a gateway's id)",
  },
  'require-client-cert': {
    type: 'boolean',
    help: 'refuse every login without a client certificate signed by --tls-ca (passwords alone no longer do)',
  },
  'allow-anonymous': { type: 'boolean', help: 'let clients without credentials in, read-only (operator role)' },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  shards: {
    type: 'string',
    default: String(DEFAULT_SHARDS),
    help: 'number of up/ shards (the same for every process)',
  },
  redis: {
    type: 'string',
    env: 'QC_REDIS_URL',
    help: 'redis://host:port[/db]: keep sessions, queued and retained messages in Redis, shared by every broker using it',
  },
  'connect-burst': {
    type: 'string',
    default: '100',
    help: 'connection attempts one address may make at once (behind a proxy, every client shares its address)',
  },
  'connect-rate': { type: 'string', default: '20', help: 'connection attempts per second one address gets back' },
  ...READY_FILE_OPT,
} as const;

const USER_OPTS = {
  users: { type: 'string', default: 'config/users.yaml', help: 'users file to create or update' },
  username: { type: 'string', help: 'user name (for a gateway: its gateway id)' },
  role: { type: 'string', help: `one of ${ROLES.join(', ')} (add)` },
  password: { type: 'string', env: 'QC_PASSWORD', help: 'password (add, passwd)' },
  'scrypt-cost': {
    type: 'string',
    default: String(SCRYPT_COST),
    help: `scrypt work factor of the password (add, passwd): one of ${SCRYPT_COSTS.join(', ')}; 1024 suits a gateway's random machine secret, so that a restarted broker checks its fleet's logins in seconds`,
  },
} as const;

const USER_LINES = [
  'Usage: qingcheng broker user add --username NAME --role ROLE --password PW [--scrypt-cost N] [--users FILE]',
  '       qingcheng broker user passwd --username NAME --password PW [--scrypt-cost N] [--users FILE]',
  '       qingcheng broker user remove --username NAME [--users FILE]',
  '       qingcheng broker user list [--users FILE]',
].join('\n');
const USER_NOTE = 'A running broker reads the file again within a second, and on SIGHUP.';
const USER_USAGE = `${USER_LINES}\n${USER_NOTE}`;

/** The same users on a stock broker (docs/protocol.md §2.6, §2.7). */
const OTHER_USAGE = [
  '       qingcheng broker export --mosquitto DIR [--users FILE]   (Mosquitto 2.0 password, ACL and config files)',
  '       qingcheng broker auth-http --port N [--users FILE]       (HTTP login and ACL checks for EMQX, VerneMQ)',
].join('\n');

export async function run(argv: string[]): Promise<void> {
  if (argv[0] === 'user') return userCommand(argv.slice(1));
  if (argv[0] === 'export') return (await import('./broker-export.ts')).exportCommand(argv.slice(1));
  if (argv[0] === 'auth-http') return (await import('./broker-auth-http.ts')).authHttpCommand(argv.slice(1));
  const a = parse(
    argv,
    `Usage: qingcheng broker [options]\n       ${USER_LINES.slice('Usage: '.length)}\n${OTHER_USAGE}\n${USER_NOTE}`,
    OPTS,
  );
  const metricsPort = a['metrics-port'] !== undefined ? int(a['metrics-port'], 'metrics-port') : undefined;
  const tls = tlsOptions(a);
  const broker = await new Broker({
    port: int(a.port, 'port'),
    host: a.host!,
    healthPort: int(a['health-port'], 'health-port'),
    users: loadUsers(a.users!),
    usersFile: a.users!,
    allowAnonymous: a['allow-anonymous'],
    prefix: a.prefix!,
    shards: int(a.shards, 'shards', 1),
    limits: {
      connectBurst: int(a['connect-burst'], 'connect-burst', 1),
      connectPerSecond: int(a['connect-rate'], 'connect-rate', 1),
    },
    ...(a.redis ? { redis: a.redis } : {}),
    ...(a['ws-port'] !== undefined ? { wsPort: int(a['ws-port'], 'ws-port') } : {}),
    ...tls,
  }).start();
  const served =
    metricsPort === undefined ? undefined : await serveMetrics(new Metrics().addBroker(broker), metricsPort, a.host);
  log('info', 'broker listening', {
    mqtt: `mqtt://${a.host}:${broker.port}`,
    ...(tls.tlsPort !== undefined ? { mqtts: `mqtts://${a.host}:${broker.tlsPort}` } : {}),
    health: `http://${a.host}:${broker.healthPort}/health`,
    ...(a['ws-port'] !== undefined ? { ws: `ws://${a.host}:${broker.wsPort}/mqtt` } : {}),
    ...(tls.wssPort !== undefined ? { wss: `wss://${a.host}:${broker.wssPort}/mqtt` } : {}),
    ...(served ? { metrics: `http://${a.host}:${served.port}/metrics` } : {}),
    client_certs: a['require-client-cert'] ? 'required' : a['tls-ca'] ? 'accepted' : 'off',
    anonymous: a['allow-anonymous'],
    state: a.redis ? 'redis' : 'memory',
  });
  const unready = writeReadyFile(a['ready-file'], {
    mqtt: broker.port,
    health: broker.healthPort,
    ...(a['ws-port'] !== undefined ? { ws: broker.wsPort } : {}),
    ...(tls.tlsPort !== undefined ? { tls: broker.tlsPort } : {}),
    ...(tls.wssPort !== undefined ? { wss: broker.wssPort } : {}),
    metrics: served?.port,
  });
  // The users file is also watched; SIGHUP reloads it at once, and the TLS files (renewed certificates).
  process.on('SIGHUP', () => {
    broker.reloadUsers();
    broker.reloadTls();
  });
  onShutdown(async () => {
    unready();
    await served?.close();
    await broker.stop();
  });
}

/** The TLS listeners and files of the options, each missing piece a usage error naming what to add. */
function tlsOptions(a: {
  'tls-port'?: string | undefined;
  'wss-port'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-ca'?: string | undefined;
  'require-client-cert': boolean;
}): Pick<BrokerOptions, 'tls' | 'tlsPort' | 'wssPort' | 'requireClientCert'> {
  const ports = {
    ...(a['tls-port'] !== undefined ? { tlsPort: int(a['tls-port'], 'tls-port') } : {}),
    ...(a['wss-port'] !== undefined ? { wssPort: int(a['wss-port'], 'wss-port') } : {}),
  };
  const [cert, key, ca] = [a['tls-cert'], a['tls-key'], a['tls-ca']];
  const listeners = Object.keys(ports).length > 0;
  if (listeners && (!cert || !key))
    throw new UsageError('--tls-port and --wss-port need --tls-cert and --tls-key (PEM files)');
  if (!listeners && (cert || key || ca))
    throw new UsageError('--tls-cert, --tls-key and --tls-ca serve --tls-port or --wss-port: give one of them');
  if (a['require-client-cert'] && !ca)
    throw new UsageError('--require-client-cert needs --tls-ca, the CA that signs the client certificates');
  if (!listeners) return {};
  return {
    ...ports,
    tls: { cert: cert!, key: key!, ...(ca ? { ca } : {}) },
    ...(a['require-client-cert'] ? { requireClientCert: true } : {}),
  };
}

async function userCommand(argv: string[]): Promise<void> {
  // `broker user --help` has no subcommand in front of its options.
  const a = parse(argv[0]?.startsWith('-') ? argv : argv.slice(1), USER_USAGE, USER_OPTS);
  const file = a.users!;
  switch (argv[0]) {
    case 'add':
      await addUser(file, username(a.username), role(a.role), password(a.password), scryptCost(a['scrypt-cost']!));
      return say(`${file}: ${a.username} (${a.role}) saved\n`);
    case 'passwd':
      if (!(await setPassword(file, username(a.username), password(a.password), scryptCost(a['scrypt-cost']!))))
        throw new UsageError(`${file}: no user ${a.username}`);
      return say(`${file}: password of ${a.username} changed\n`);
    case 'remove':
      if (!removeUser(file, username(a.username))) throw new UsageError(`${file}: no user ${a.username}`);
      return say(`${file}: ${a.username} removed\n`);
    case 'list':
      return say(
        listUsers(file)
          .map((u) => `${u.username}\t${u.role}\n`)
          .join(''),
      );
    default:
      throw new UsageError(`expected \`broker user add|passwd|remove|list\`\n\n${USER_USAGE}`);
  }
}

const say = (text: string) => void process.stdout.write(text);

function username(v: string | undefined): string {
  if (!v || !ID_PATTERN.test(v)) throw new UsageError('--username: expected letters, digits, . _ - (1-64)');
  return v;
}

function role(v: string | undefined): Role {
  if (!ROLES.includes(v as Role)) throw new UsageError(`--role: expected one of ${ROLES.join(', ')}`);
  return v as Role;
}

function password(v: string | undefined): string {
  if (!v) throw new UsageError('--password (or QC_PASSWORD) is required');
  return v;
}

function scryptCost(v: string): number {
  const n = Number(v);
  if (!(SCRYPT_COSTS as readonly number[]).includes(n))
    throw new UsageError(`--scrypt-cost: expected one of ${SCRYPT_COSTS.join(', ')}, got ${v}`);
  return n;
}
