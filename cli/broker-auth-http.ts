// `qingcheng broker auth-http`: login and ACL checks over HTTP for EMQX 5 and VerneMQ (docs/protocol.md
// §2.7), from the same users file and rules as our broker.
import { AuthHttp } from '../broker/auth-http.ts';
import { loadUsers } from '../broker/users.ts';
import { log } from '../protocol/log.ts';
import { DEFAULT_PREFIX, DEFAULT_SHARDS } from '../protocol/topics.ts';
import { int, parse } from './args.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  port: { type: 'string', default: '8089', help: 'HTTP port (0 = any free port)' },
  host: { type: 'string', default: '127.0.0.1', help: 'address to bind; the broker calling it must reach it' },
  users: {
    type: 'string',
    default: 'config/users.yaml',
    help: 'users file (read again when it changes, and on SIGHUP)',
  },
  prefix: { type: 'string', default: DEFAULT_PREFIX, help: 'topic prefix' },
  shards: { type: 'string', default: String(DEFAULT_SHARDS), help: 'number of up/ shards (as every process uses)' },
  'max-body': { type: 'string', default: '16384', help: 'largest request body, bytes (larger: 413)' },
  'max-pending': { type: 'string', default: '256', help: 'logins checked at once (more: 503)' },
  ...READY_FILE_OPT,
} as const;

const USAGE = 'Usage: qingcheng broker auth-http [--port N] [--host H] [--users FILE] [--prefix P] [--shards S]';

export async function authHttpCommand(argv: string[]): Promise<void> {
  const a = parse(argv, USAGE, OPTS);
  const server = await new AuthHttp({
    users: loadUsers(a.users!),
    usersFile: a.users!,
    prefix: a.prefix!,
    shards: int(a.shards, 'shards', 1),
    maxBodyBytes: int(a['max-body'], 'max-body', 256),
    maxPendingLogins: int(a['max-pending'], 'max-pending', 1),
  }).start(int(a.port, 'port'), a.host);
  const base = `http://${a.host}:${server.port}`;
  log('info', 'auth-http listening', {
    emqx_authn: `${base}/emqx/authn`,
    emqx_authz: `${base}/emqx/authz`,
    vernemq: `${base}/vernemq/auth_on_register (auth_on_publish, auth_on_subscribe)`,
    health: `${base}/health`,
  });
  const unready = writeReadyFile(a['ready-file'], { http: server.port });
  process.on('SIGHUP', () => server.reloadUsers());
  onShutdown(() => {
    unready();
    return server.stop();
  });
}
