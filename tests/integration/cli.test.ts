// The `qingcheng` command as a user runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadUsers, verifyPassword } from '../../broker/users.ts';
import { ROOT } from '../helpers/pipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'bin/qingcheng.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, QINGCHENG_LOG: 'error' },
  });
/** The environment without a variable, as on a machine that does not hold that secret. */
const without = (name: string) =>
  Object.fromEntries(Object.entries({ ...process.env, QINGCHENG_LOG: 'error' }).filter(([k]) => k !== name));

describe('qingcheng', () => {
  it.each(['broker', 'gateway', 'ingest', 'simulate', 'stack', 'watch', 'console'])(
    '%s --help lists its options with defaults',
    (role) => {
      const r = run(role, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: qingcheng ${role}`));
      expect(r.stdout).toContain('Options:');
      expect(r.stdout).toContain('--help');
    },
  );

  it('lists its commands, and refuses an unknown one', () => {
    expect(run('--help').stdout).toContain('gateway');
    const r = run('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it('names the file and key of a config mistake, with exit code 2', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'gateway: { id: gw-1 }\nlinks: [{ name: a, type: modbus-tcp, host: h }]\ndevices:\n  - { id: d, link: a, registers: [{ field: pm25, addr: 0, type: float }] }\n',
    );
    const r = run('gateway', '--config', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `${file}: devices[0].registers[0].type: expected one of uint16, int16, uint32, int32, float32, got "float"`,
    );
  });

  it('gateway --check validates a config without its secrets, and names the ones running it needs', () => {
    const example = join(ROOT, 'config/gateway.example.yaml');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/qingcheng.js'), 'gateway', '--config', example, '--check'], {
      encoding: 'utf8',
      env: without('QC_GW_PASSWORD'),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${example}: valid — gateway gw-saihan-01, 5 link(s), 7 device(s)`);
    expect(r.stdout).toContain('to run it, set QC_GW_PASSWORD (mqtt.password_env)');
  });

  it('gateway run without its password says which key and variable, with exit code 2', () => {
    const example = join(ROOT, 'config/gateway.example.yaml');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/qingcheng.js'), 'gateway', '--config', example], {
      encoding: 'utf8',
      env: without('QC_GW_PASSWORD'),
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `qingcheng gateway: ${example}: mqtt.password_env: environment variable QC_GW_PASSWORD is not set (the gateway's MQTT password`,
    );
    expect(r.stderr).not.toMatch(/\n +at /);
  });

  it('refuses an unknown option with the help text', () => {
    const r = run('ingest', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--bogus'");
    expect(r.stderr).toContain('--influx-url');
  });

  it('adds broker users with scrypt-hashed passwords', async () => {
    const file = join(dir, 'users.yaml');
    expect(
      run('broker', 'user', 'add', '--users', file, '--username', 'gw-9', '--role', 'gateway', '--password', 's3cret')
        .status,
    ).toBe(0);
    expect(
      run('broker', 'user', 'add', '--users', file, '--username', 'op', '--role', 'operator', '--password', 'x').status,
    ).toBe(0);
    const users = loadUsers(file);
    expect(users.map((u) => [u.username, u.role])).toEqual([
      ['gw-9', 'gateway'],
      ['op', 'operator'],
    ]);
    expect(users[0]!.password).not.toContain('s3cret');
    expect(await verifyPassword('s3cret', users[0]!.password)).toBe(true);
    const bad = run('broker', 'user', 'add', '--users', file, '--username', 'x', '--role', 'king', '--password', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--role: expected one of gateway, ingest, operator, admin');
  });
});

describe('qingcheng ingest --leases', () => {
  it('refuses a lease URL that is not redis://, a ttl too short, and a fixed index beside it', () => {
    const bad = (args: string[], says: string) => {
      const r = run('ingest', ...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(says);
    };
    bad(['--leases', 'http://127.0.0.1:6379'], '--leases: expected redis://HOST:PORT, got http://127.0.0.1:6379');
    bad(['--leases', 'redis://127.0.0.1:6379', '--lease-ttl-ms', '200'], '--lease-ttl-ms: expected an integer >= 1000');
    bad(['--leases', 'redis://127.0.0.1:6379', '--workers', '2'], 'leave out --index and --workers');
  });
});

describe('qingcheng broker', () => {
  it('says which port is taken instead of crashing', async () => {
    const net = await import('node:net');
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    const users = join(dir, 'empty-users.yaml');
    writeFileSync(users, 'users: []\n');
    const r = run('broker', '--users', users, '--host', '127.0.0.1', '--port', String(port), '--health-port', '0');
    holder.close();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`qingcheng broker: port ${port} on 127.0.0.1 is already in use`);
  });

  it('names the TLS option a TLS listener is missing, before anything listens', () => {
    const r = run('broker', '--users', join(dir, 'none.yaml'), '--tls-port', '0', '--tls-cert', 'broker.pem');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--tls-port and --wss-port need --tls-cert and --tls-key');
    const strict = run(
      'broker',
      '--tls-port',
      '0',
      '--tls-cert',
      'c.pem',
      '--tls-key',
      'k.pem',
      '--require-client-cert',
    );
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain('--require-client-cert needs --tls-ca');
  });
});
