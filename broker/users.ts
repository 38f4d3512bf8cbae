// The broker's users file: who may connect, with which role, and their scrypt-hashed passwords.
//
//   users:
//     - { username: gw-saihan-01, role: gateway, password: "scrypt$16384$8$1$<salt>$<hash>" }
//
// `qingcheng broker user add` writes entries; plain-text passwords are never stored.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ID_PATTERN } from '../protocol/topics.ts';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, len: number, o: ScryptOptions) => Promise<Buffer>;

export const ROLES = ['gateway', 'ingest', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User { username: string; role: Role; password: string }

export class ConfigError extends Error {
  constructor(file: string, key: string, msg: string) {
    super(`${file}: ${key}: ${msg}`);
    this.name = 'ConfigError';
  }
}

const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export async function hashPassword(password: string, N = 16384, r = 8, p = 1): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N, r, p, maxmem: 256 * N * r });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: Buffer | string, stored: string): Promise<boolean> {
  const m = HASH.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  const got = await scrypt(password, Buffer.from(m[4]!, 'base64'), expected.length, { N, r, p, maxmem: 256 * N * r });
  return timingSafeEqual(got, expected);
}

export function parseUsers(text: string, file: string): User[] {
  let doc: unknown;
  try { doc = parse(text); } catch (e) { throw new ConfigError(file, '(document)', `not valid YAML: ${(e as Error).message}`); }
  const list = (doc as { users?: unknown } | null)?.users;
  if (!Array.isArray(list)) throw new ConfigError(file, 'users', 'expected a list of { username, role, password }');
  const seen = new Set<string>();
  return list.map((u: unknown, i) => {
    const at = `users[${i}]`;
    const o = (u ?? {}) as Record<string, unknown>;
    if (typeof o.username !== 'string' || !ID_PATTERN.test(o.username)) throw new ConfigError(file, `${at}.username`, 'expected letters, digits, . _ - (1-64)');
    if (seen.has(o.username)) throw new ConfigError(file, `${at}.username`, `"${o.username}" is listed twice`);
    seen.add(o.username);
    if (!ROLES.includes(o.role as Role)) throw new ConfigError(file, `${at}.role`, `expected one of ${ROLES.join(', ')}, got ${JSON.stringify(o.role)}`);
    if (typeof o.password !== 'string' || !HASH.test(o.password)) {
      throw new ConfigError(file, `${at}.password`, 'expected an scrypt hash; create one with `qingcheng broker user add`');
    }
    return { username: o.username, role: o.role as Role, password: o.password };
  });
}

export function loadUsers(file: string): User[] {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError(file, '(file)', (e as Error).message); }
  return parseUsers(text, file);
}
