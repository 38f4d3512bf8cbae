// The stack's kept passwords: reused, added to, private, and a damaged file said plainly.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadCredentials } from '../../cli/services/credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'credentials.json');

it('makes passwords once, keeps them, adds new users, and keeps the file mode 0600', () => {
  const first = loadCredentials(
    file,
    new Map([
      ['gw-sim-01', 'gateway'],
      ['operator', 'operator'],
    ]),
  );
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(first.get('operator')!.password).toMatch(/^[\w-]{16}$/);
  const again = loadCredentials(
    file,
    new Map([
      ['gw-sim-01', 'gateway'],
      ['gw-sim-02', 'gateway'],
      ['operator', 'operator'],
    ]),
  );
  expect(again.get('operator')).toEqual(first.get('operator'));
  expect(again.get('gw-sim-01')).toEqual(first.get('gw-sim-01'));
  expect(again.get('gw-sim-02')!.password).not.toBe(first.get('gw-sim-01')!.password);
  expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toEqual(['gw-sim-01', 'operator', 'gw-sim-02']);
  // A file someone opened up is closed again, even when nothing was added.
  chmodSync(file, 0o644);
  loadCredentials(file, new Map([['operator', 'operator']]));
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

it('names a damaged file and what to do about it', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"operator": {"role": "operator"}}');
  expect(() => loadCredentials(bad, new Map([['operator', 'operator']]))).toThrow(
    `${bad}: expected {"user": {"role": …, "password": …}, …}; remove it to have new passwords made`,
  );
  writeFileSync(bad, '{');
  expect(() => loadCredentials(bad, new Map([['operator', 'operator']]))).toThrow(`${bad}: not readable as JSON`);
});
