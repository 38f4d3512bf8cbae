// Managing the broker's users (`qingcheng broker user add|remove|passwd|list`), the running broker picking the
// users file up without a restart, and the back-off that slows refused logins (README "Broker").
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { addUser, listUsers, loadUsers, removeUser, setPassword, verifyPassword } from '../../broker/users.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeUsers, PASSWORDS, ROOT } from '../helpers/pipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-users-'));
const clients: MqttClient[] = [];
afterAll(() => {
  for (const c of clients) c.end(true);
  rmSync(dir, { recursive: true, force: true });
});

const qingcheng = (...args: string[]) =>
  promisify(execFile)(process.execPath, [join(ROOT, 'bin/qingcheng.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, QINGCHENG_LOG: 'error' },
  });

function connect(port: number, opts: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

describe('qingcheng broker user', () => {
  it('adds, lists, changes the password of and removes users', async () => {
    const file = join(dir, 'cli-users.yaml');
    const add = ['broker', 'user', 'add', '--users', file];
    await qingcheng(...add, '--username', 'gw-1', '--role', 'gateway', '--password', 'one');
    await qingcheng(...add, '--username', 'op', '--role', 'operator', '--password', 'two');
    expect((await qingcheng('broker', 'user', 'list', '--users', file)).stdout).toBe('gw-1\tgateway\nop\toperator\n');
    await qingcheng('broker', 'user', 'passwd', '--users', file, '--username', 'op', '--password', 'three');
    const op = loadUsers(file).find((u) => u.username === 'op')!;
    expect(op.role).toBe('operator');
    expect(await verifyPassword('three', op.password)).toBe(true);
    await qingcheng('broker', 'user', 'remove', '--users', file, '--username', 'gw-1');
    expect(listUsers(file)).toEqual([{ username: 'op', role: 'operator' }]);
    await expect(qingcheng('broker', 'user', 'remove', '--users', file, '--username', 'gw-1')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no user gw-1'),
    });
    await expect(
      qingcheng('broker', 'user', 'passwd', '--users', file, '--username', 'nobody', '--password', 'x'),
    ).rejects.toMatchObject({ code: 2 });
  });

  it("hashes a gateway's machine secret at the scrypt cost asked for, a person's at 16,384, and refuses other costs", async () => {
    const file = join(dir, 'cost-users.yaml');
    const add = ['broker', 'user', 'add', '--users', file];
    await qingcheng(
      ...add,
      '--username',
      'gw-cheap',
      '--role',
      'gateway',
      '--password',
      'rand',
      '--scrypt-cost',
      '1024',
    );
    await qingcheng(...add, '--username', 'op', '--role', 'operator', '--password', 'chosen');
    const [gw, op] = loadUsers(file);
    expect(gw!.password).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(op!.password).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('rand', gw!.password)).toBe(true);
    await qingcheng(
      'broker',
      'user',
      'passwd',
      '--users',
      file,
      '--username',
      'op',
      '--password',
      'x',
      '--scrypt-cost',
      '2048',
    );
    expect(loadUsers(file)[1]!.password).toMatch(/^scrypt\$2048\$/);
    await expect(
      qingcheng(...add, '--username', 'g2', '--role', 'gateway', '--password', 'p', '--scrypt-cost', '1000'),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        '--scrypt-cost: expected one of 1024, 2048, 4096, 8192, 16384, 32768, 65536, got 1000',
      ),
    });
  });
});

describe('the broker reloads its users file', () => {
  it('lets a new user in, drops a removed one and the connections of a changed one, without a restart', async () => {
    const file = join(dir, 'users.yaml');
    await addUser(file, 'operator', 'operator', PASSWORDS.operator);
    const broker = await new Broker({ port: 0, users: loadUsers(file), usersFile: file, usersPollMs: 50 }).start();
    const reloads = () => broker.stats.usersReloaded;
    try {
      const login = (username: string, password: string) => connect(broker.port, { username, password });
      await expect(login('op2', 'first')).rejects.toThrow(/Bad username or password/i);

      let seen = reloads();
      await addUser(file, 'op2', 'operator', 'first');
      await waitFor('the broker to reload its users', () => reloads() > seen, 10_000);
      const op2 = await login('op2', 'first');

      seen = reloads();
      const dropped = new Promise<void>((r) => op2.once('close', () => r()));
      await setPassword(file, 'op2', 'second');
      await waitFor('the broker to reload its users', () => reloads() > seen, 10_000);
      await dropped;
      await expect(login('op2', 'first')).rejects.toThrow(/Bad username or password/i);
      const again = await login('op2', 'second');

      seen = reloads();
      const removed = new Promise<void>((r) => again.once('close', () => r()));
      expect(removeUser(file, 'op2')).toBe(true);
      await waitFor('the broker to reload its users', () => reloads() > seen, 10_000);
      await removed;
      await expect(login('op2', 'second')).rejects.toThrow(/Bad username or password/i);
      (await login('operator', PASSWORDS.operator)).end(true); // the others are untouched
    } finally {
      await broker.stop();
    }
  });

  it('keeps the users it has when the file turns invalid, and says so in its counters', async () => {
    const file = join(dir, 'users-broken.yaml');
    await addUser(file, 'operator', 'operator', PASSWORDS.operator);
    // not watched (usersPollMs 0): only the explicit reload below reads the file
    const broker = await new Broker({ port: 0, users: loadUsers(file), usersFile: file, usersPollMs: 0 }).start();
    try {
      writeFileSync(file, 'users: [ {username: operator, role: king} ]\n');
      expect(broker.reloadUsers()).toBe(false);
      expect(broker.stats.usersReloadFailed).toBe(1);
      (await connect(broker.port, { username: 'operator', password: PASSWORDS.operator })).end(true);
    } finally {
      await broker.stop();
    }
  });
});

describe('failed-login back-off', () => {
  it('delays repeated refusals for a user and an address, and counts them; a right password is not delayed', async () => {
    const broker = await new Broker({
      port: 0,
      users: await makeUsers(['gw-k']),
      limits: { loginBackoffMs: 20, loginBackoffMaxMs: 100 },
    }).start();
    try {
      for (let i = 0; i < 4; i++)
        await expect(
          connect(broker.port, { clientId: 'gw-k', username: 'gw-k', password: 'guess' + i }),
        ).rejects.toThrow(/Bad username or password/i);
      expect(broker.stats.refused).toBe(4);
      expect(broker.stats.loginDelays).toBe(3); // the first refusal is answered at once
      // 0, 20, 40, 80 ms so far; the next would be 160, held to the maximum
      expect(broker.loginDelay('gw-k', '127.0.0.1')).toBe(100);
      const ok = await connect(broker.port, { clientId: 'gw-k', username: 'gw-k', password: PASSWORDS.gateway });
      expect(ok.connected).toBe(true);
      expect(broker.stats.loginDelays).toBe(3);
    } finally {
      await broker.stop();
    }
  });
});
