import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { Broker } from '../broker/server.ts';
import { hashPassword, loadUsers, ROLES, type Role } from '../broker/users.ts';
import { log } from '../protocol/log.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS, ID_PATTERN } from '../protocol/topics.ts';
import { int, parse, UsageError } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  port: { type: 'string', default: '1883', help: 'MQTT TCP port' },
  host: { type: 'string', default: '0.0.0.0', help: 'address to listen on' },
  users: { type: 'string', default: 'config/users.yaml', help: 'users file (username, role, scrypt password hash)' },
  'health-port': { type: 'string', default: '8081', help: 'HTTP port of GET /health (0 = any free port)' },
  'ws-port': {
    type: 'string',
    help: 'also serve MQTT over WebSocket on this port, at /mqtt (for the operator console; 0 = any free port)',
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
} as const;

const USER_OPTS = {
  users: { type: 'string', default: 'config/users.yaml', help: 'users file to create or update' },
  username: { type: 'string', help: 'user name (for a gateway: its gateway id)' },
  role: { type: 'string', help: `one of ${ROLES.join(', ')}` },
  password: { type: 'string', env: 'QC_PASSWORD', help: 'password' },
} as const;

export async function run(argv: string[]): Promise<void> {
  if (argv[0] === 'user') return userCommand(argv.slice(1));
  const a = parse(
    argv,
    'Usage: qingcheng broker [options]\n       qingcheng broker user add --username NAME --role ROLE --password PW',
    OPTS,
  );
  const broker = await new Broker({
    port: int(a.port, 'port'),
    host: a.host!,
    healthPort: int(a['health-port'], 'health-port'),
    users: loadUsers(a.users!),
    allowAnonymous: a['allow-anonymous'],
    prefix: a.prefix!,
    shards: int(a.shards, 'shards', 1),
    ...(a.redis ? { redis: a.redis } : {}),
    ...(a['ws-port'] !== undefined ? { wsPort: int(a['ws-port'], 'ws-port') } : {}),
  }).start();
  log('info', 'broker listening', {
    mqtt: `${a.host}:${broker.port}`,
    health: `http://${a.host}:${broker.healthPort}/health`,
    ...(a['ws-port'] !== undefined ? { ws: `ws://${a.host}:${broker.wsPort}/mqtt` } : {}),
    anonymous: a['allow-anonymous'],
    state: a.redis ? 'redis' : 'memory',
  });
  onShutdown(() => broker.stop());
}

async function userCommand(argv: string[]): Promise<void> {
  const a = parse(
    argv.slice(1),
    'Usage: qingcheng broker user add --username NAME --role ROLE --password PW [--users FILE]',
    USER_OPTS,
  );
  if (argv[0] !== 'add') throw new UsageError('expected `broker user add`');
  if (!a.username || !ID_PATTERN.test(a.username))
    throw new UsageError('--username: expected letters, digits, . _ - (1-64)');
  if (!ROLES.includes(a.role as Role)) throw new UsageError(`--role: expected one of ${ROLES.join(', ')}`);
  if (!a.password) throw new UsageError('--password (or QC_PASSWORD) is required');
  await addUser(a.users!, a.username, a.role as Role, a.password);
  process.stdout.write(`${a.users}: ${a.username} (${a.role}) saved\n`);
}

/** Adds or replaces a user in a users file, creating the file if needed. */
export async function addUser(file: string, username: string, role: Role, password: string): Promise<void> {
  const doc = existsSync(file) ? (parseYaml(readFileSync(file, 'utf8')) ?? {}) : {};
  const users = (Array.isArray(doc.users) ? doc.users : []).filter(
    (u: { username?: string }) => u.username !== username,
  );
  users.push({ username, role, password: await hashPassword(password) });
  writeFileSync(file, stringify({ users }), { mode: 0o600 });
  loadUsers(file); // what we wrote must load
}
