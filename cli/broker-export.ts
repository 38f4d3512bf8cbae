// `qingcheng broker export --mosquitto DIR`: the users file and role ACL as Mosquitto 2.0 files
// (docs/protocol.md §2.6), for a city that already runs Mosquitto.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mosquittoExport } from '../broker/mosquitto.ts';
import { loadUsers } from '../broker/users.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { CliError, int, parse, UsageError } from './args.ts';

const OPTS = {
  mosquitto: { type: 'string', help: 'directory to write passwd, acl and mosquitto.conf into (created if needed)' },
  users: { type: 'string', default: 'config/users.yaml', help: 'users file to export' },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  shards: { type: 'string', default: String(DEFAULT_SHARDS), help: 'number of up/ shards (as every process uses)' },
  host: { type: 'string', default: '127.0.0.1', help: "address of mosquitto.conf's listener" },
  port: { type: 'string', default: '1883', help: "port of mosquitto.conf's listener" },
  'ws-port': { type: 'string', help: 'also a WebSocket listener on this port (for the operator console)' },
  persistence: {
    type: 'string',
    help: 'where Mosquitto keeps retained messages and sessions (default: DIR/data, created)',
  },
  'skip-missing': {
    type: 'boolean',
    help: 'leave out users that have no Mosquitto hash yet (they cannot log in) instead of failing',
  },
} as const;

const USAGE =
  'Usage: qingcheng broker export --mosquitto DIR [--users FILE] [--prefix P] [--shards S] [--skip-missing]';

export async function exportCommand(argv: string[]): Promise<void> {
  const a = parse(argv, USAGE, OPTS);
  if (!a.mosquitto) throw new UsageError(`--mosquitto DIR is required\n\n${USAGE}`);
  const dir = resolve(a.mosquitto);
  const persistenceDir = resolve(a.persistence ?? join(dir, 'data'));
  // A prefix becomes part of every ACL line: no spaces, wildcards or empty levels.
  if (!/^[^\s+#/]+(\/[^\s+#/]+)*$/.test(a.prefix!))
    throw new UsageError(`--prefix: expected topic levels such as env/v1, got ${JSON.stringify(a.prefix)}`);
  const users = loadUsers(a.users!);
  const files = mosquittoExport(users, {
    prefix: a.prefix!,
    shards: int(a.shards, 'shards', 1),
    dir,
    host: a.host!,
    port: int(a.port, 'port', 1),
    ...(a['ws-port'] !== undefined ? { wsPort: int(a['ws-port'], 'ws-port', 1) } : {}),
    persistenceDir,
  });
  if (files.missing.length > 0 && !a['skip-missing']) throw new CliError(missingText(files.missing, a.users!, false));
  mkdirSync(dir, { recursive: true });
  mkdirSync(persistenceDir, { recursive: true });
  // Hashes are secrets; chmod as well, since a file that exists keeps its mode.
  writeFileSync(join(dir, 'passwd'), files.passwd, { mode: 0o600 });
  chmodSync(join(dir, 'passwd'), 0o600);
  writeFileSync(join(dir, 'acl'), files.acl);
  writeFileSync(join(dir, 'mosquitto.conf'), files.conf);
  const exported = users.length - files.missing.length;
  process.stdout.write(
    [
      `${dir}: passwd, acl and mosquitto.conf for ${exported} user(s)`,
      ...(files.missing.length > 0 ? [missingText(files.missing, a.users!, true)] : []),
      `Run: mosquitto -c ${join(dir, 'mosquitto.conf')}`,
      `(Mosquitto started as root runs as the user "mosquitto": chown mosquitto ${join(dir, 'passwd')} ${persistenceDir})`,
      '',
    ].join('\n'),
  );
}

function missingText(missing: { username: string }[], file: string, skipped: boolean): string {
  const lines = missing.map(
    (u) => `  qingcheng broker user passwd --users ${file} --username ${u.username} --password …`,
  );
  return [
    `${missing.length} user(s) have no Mosquitto password hash (their password was set before it was kept)` +
      (skipped ? ' and were left out:' : '; set their passwords again, or pass --skip-missing:'),
    ...lines,
  ].join('\n');
}
