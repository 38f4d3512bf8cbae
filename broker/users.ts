// The broker's users file: who may connect, with which role, and their scrypt-hashed passwords.
//
//   users:
//     - { username: gw-saihan-01, role: gateway, password: "scrypt$16384$8$1$<salt>$<hash>" }
//
// `qingcheng broker user add` writes entries; plain-text passwords are never stored.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import { configRoot, Node } from '../protocol/config.ts';
import { ID_PATTERN } from '../protocol/topics.ts';

const scrypt = promisify(scryptCb) as (
  pw: string | Buffer,
  salt: Buffer,
  len: number,
  o: ScryptOptions,
) => Promise<Buffer>;

export const ROLES = ['gateway', 'ingest', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  username: string;
  role: Role;
  password: string;
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

export function parseUsers(root: Node): User[] {
  const seen = new Set<string>();
  return root
    .only('users')
    .get('users')
    .list()
    .map((u) => {
      u.only('username', 'role', 'password');
      const username = u.get('username').str({ pattern: ID_PATTERN, hint: 'letters, digits, . _ - (1-64)' });
      if (seen.has(username)) u.get('username').fail(`"${username}" is listed twice`);
      seen.add(username);
      const role = u.get('role').oneOf(ROLES);
      const password = u
        .get('password')
        .str({ pattern: HASH, hint: 'an scrypt hash; create one with `qingcheng broker user add`' });
      return { username, role, password };
    });
}

export function loadUsers(file: string): User[] {
  return parseUsers(configRoot(file));
}
