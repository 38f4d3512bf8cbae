// The stack's generated passwords, kept in its working directory so a restart does not change them:
// the operator's login stays the one printed last time, and a gateway's outbox keeps its user.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { User } from '../../broker/users.ts';
import { CliError } from '../args.ts';

export interface Credential {
  role: User['role'];
  password: string;
}

const secret = () => randomBytes(12).toString('base64url');

/**
 * The password of each wanted user: the one in `file` if it has it, a new one otherwise. The file is
 * written (mode 0600: it holds plain-text passwords) only when a user was added; entries no longer
 * wanted are kept, so fewer gateways today and more tomorrow give the old ones their old passwords.
 */
export function loadCredentials(file: string, wanted: Map<string, User['role']>): Map<string, Credential> {
  const kept = readCredentials(file);
  const out = new Map<string, Credential>();
  let added = false;
  for (const [username, role] of wanted) {
    const have = kept[username];
    if (!have) added = true;
    out.set(username, { role, password: have?.password ?? secret() });
  }
  if (added) writeCredentials(file, { ...kept, ...Object.fromEntries(out) });
  else if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return out;
}

function readCredentials(file: string): Record<string, Credential> {
  if (!existsSync(file)) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`${file}: not readable as JSON (${(e as Error).message}); remove it to have new passwords made`);
  }
  const ok =
    typeof doc === 'object' &&
    doc !== null &&
    !Array.isArray(doc) &&
    Object.values(doc).every(
      (c) =>
        typeof c === 'object' &&
        c !== null &&
        typeof (c as Credential).password === 'string' &&
        (c as Credential).password.length > 0,
    );
  if (!ok)
    throw new CliError(
      `${file}: expected {"user": {"role": …, "password": …}, …}; remove it to have new passwords made`,
    );
  return doc as Record<string, Credential>;
}

function writeCredentials(file: string, creds: Record<string, Credential>): void {
  // Written beside and renamed over, so a crash never leaves half a file; created 0600, never readable by others.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
