// The broker's users file: who may connect, with which role, and their scrypt-hashed passwords.
//
//   users:
//     - { username: gw-saihan-01, role: gateway, password: "scrypt$16384$8$1$<salt>$<hash>",
//         mosquitto: "$7$10000$<salt>$<hash>" }
//
// `qingcheng broker user add|remove|passwd` write entries; plain-text passwords are never stored. Beside the
// scrypt hash they store the same password as Mosquitto 2.0 hashes it (PBKDF2-SHA512, `$7$`), which our
// broker never reads: `qingcheng broker export --mosquitto` writes it to a Mosquitto password file. The file
// is replaced whole (written beside it, then renamed), so a broker reloading it never reads half a file.
import { pbkdf2 as pbkdf2Cb, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';
import { configRoot, Node } from '../protocol/config.ts';
import { ID_PATTERN } from '../protocol/topics.ts';

const scrypt = promisify(scryptCb) as (
  pw: string | Buffer,
  salt: Buffer,
  len: number,
  o: ScryptOptions,
) => Promise<Buffer>;

const pbkdf2 = promisify(pbkdf2Cb);

export const ROLES = ['gateway', 'ingest', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  username: string;
  role: Role;
  password: string;
  /** The password as Mosquitto 2.0 hashes it, for `broker export --mosquitto`; absent in older files. */
  mosquitto?: string;
}

const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** scrypt's work factor N for a password a person chose. */
export const SCRYPT_COST = 16384;

/**
 * The work factors `--scrypt-cost` may take. A gateway's password is a random machine secret, which a low
 * cost does not weaken; after a broker restart every gateway's first login is checked again, and at
 * 16,384 ten thousand of them take minutes of CPU (docs/scaling.md §6).
 */
export const SCRYPT_COSTS = [1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;

export async function hashPassword(password: string, N = SCRYPT_COST, r = 8, p = 1): Promise<string> {
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

/**
 * PBKDF2 rounds of the Mosquitto hash. Mosquitto checks a password on its single thread at every login:
 * 10,000 rounds cost ~7 ms on one core here, where mosquitto_passwd's 101 would be trivial to brute-force
 * from a stolen file.
 */
export const MOSQUITTO_ITERATIONS = 10_000;
// Mosquitto 2.0 reads a salt of exactly 12 bytes and a SHA-512 sized hash.
const MOSQUITTO_HASH = /^\$7\$(\d{1,9})\$([A-Za-z0-9+/]{16})\$([A-Za-z0-9+/]{86}==)$/;

/** `password` as mosquitto_passwd 2.0 writes it: `$7$<iterations>$<base64 salt>$<base64 hash>`. */
export async function mosquittoHash(password: string, iterations = MOSQUITTO_ITERATIONS): Promise<string> {
  const salt = randomBytes(12);
  const hash = await pbkdf2(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `password` matches a `$7$` hash (ours or mosquitto_passwd's). */
export async function verifyMosquittoHash(password: string, stored: string): Promise<boolean> {
  const m = MOSQUITTO_HASH.exec(stored);
  if (!m) return false;
  const got = await pbkdf2(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), 64, 'sha512');
  return timingSafeEqual(got, Buffer.from(m[3]!, 'base64'));
}

export function parseUsers(root: Node): User[] {
  const seen = new Set<string>();
  return root
    .only('users')
    .get('users')
    .list()
    .map((u) => {
      u.only('username', 'role', 'password', 'mosquitto');
      const username = u.get('username').str({ pattern: ID_PATTERN, hint: 'letters, digits, . _ - (1-64)' });
      if (seen.has(username)) u.get('username').fail(`"${username}" is listed twice`);
      seen.add(username);
      const role = u.get('role').oneOf(ROLES);
      const password = u
        .get('password')
        .str({ pattern: HASH, hint: 'an scrypt hash; create one with `qingcheng broker user add`' });
      const mosquitto = u.get('mosquitto').present
        ? u.get('mosquitto').str({
            pattern: MOSQUITTO_HASH,
            hint: 'a Mosquitto $7$ hash; set one with `qingcheng broker user passwd`',
          })
        : undefined;
      return { username, role, password, ...(mosquitto !== undefined ? { mosquitto } : {}) };
    });
}

export function loadUsers(file: string): User[] {
  return parseUsers(configRoot(file));
}

type Entry = { username?: unknown; role?: unknown; password?: unknown; mosquitto?: unknown };

/** Both hashes of a password: ours, and Mosquitto's for an export. */
async function hashes(password: string, cost = SCRYPT_COST): Promise<{ password: string; mosquitto: string }> {
  const [scrypted, pbkdf2ed] = await Promise.all([hashPassword(password, cost), mosquittoHash(password)]);
  return { password: scrypted, mosquitto: pbkdf2ed };
}

/** The file's entries as written, or none when there is no file yet. */
function readEntries(file: string): Entry[] {
  if (!existsSync(file)) return [];
  const doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as { users?: unknown };
  return Array.isArray(doc.users) ? (doc.users as Entry[]) : [];
}

/** Writes the entries beside the file, checks they load, and only then puts them in its place. */
function writeEntries(file: string, users: Entry[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify({ users }), { mode: 0o600 });
  try {
    loadUsers(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Adds a user, or replaces one of that name; creates the file if needed. */
export async function addUser(
  file: string,
  username: string,
  role: Role,
  password: string,
  cost = SCRYPT_COST,
): Promise<void> {
  const users = readEntries(file).filter((u) => u.username !== username);
  users.push({ username, role, ...(await hashes(password, cost)) });
  writeEntries(file, users);
}

/** Removes a user; false when there was none of that name. */
export function removeUser(file: string, username: string): boolean {
  const users = readEntries(file);
  const kept = users.filter((u) => u.username !== username);
  if (kept.length === users.length) return false;
  writeEntries(file, kept);
  return true;
}

/** Sets a user's password, keeping its role; false when there is no user of that name. */
export async function setPassword(
  file: string,
  username: string,
  password: string,
  cost = SCRYPT_COST,
): Promise<boolean> {
  const users = readEntries(file);
  const user = users.find((u) => u.username === username);
  if (!user) return false;
  Object.assign(user, await hashes(password, cost));
  writeEntries(file, users);
  return true;
}

/** Who may connect, and with which role (no hashes). */
export function listUsers(file: string): { username: string; role: Role }[] {
  return loadUsers(file).map(({ username, role }) => ({ username, role }));
}
