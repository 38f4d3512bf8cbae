// The same users on a stock broker, as a user types it: `broker user add` then `broker export --mosquitto`,
// whose files run in a real Mosquitto that takes the password set by `user add` (a user without a
// Mosquitto hash is named with the command that sets it); and `broker auth-http` answering EMQX's checks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { realClockEnv } from '../helpers/clock.ts';
import { listensOn } from '../helpers/listening.ts';
import { Proc, ROOT } from '../helpers/pipeline.ts';
import { readyOf } from '../helpers/ready-file.ts';
import { freePort, waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-export-'));
const stops: (() => void)[] = [];
afterAll(() => {
  for (const s of stops) s();
  rmSync(dir, { recursive: true, force: true });
});

function qingcheng(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/qingcheng.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `broker user add` of the gateway user gw-a with password pw-a to the users file `users`. */
function addGatewayA(users: string): ReturnType<typeof qingcheng> {
  return qingcheng(
    ...['broker', 'user', 'add', '--users', users],
    ...['--username', 'gw-a', '--role', 'gateway', '--password', 'pw-a'],
  );
}

function login(port: number, password: string, scheme = 'mqtt'): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(`${scheme}://127.0.0.1:${port}/mqtt`, {
      clientId: 'gw-a',
      username: 'gw-a',
      password,
      reconnectPeriod: 0,
    });
    c.once('connect', () => {
      c.end(true);
      resolve('accepted');
    });
    c.once('error', (e) => {
      c.end(true);
      resolve(e.message);
    });
  });
}

/**
 * Exports the users' Mosquitto files for a TCP and a WebSocket port and runs Mosquitto on them. Mosquitto
 * cannot listen on port 0, so the ports handed to the export were free a moment ago; a start that lost
 * one to another process (Mosquitto exits "in use") is made again on new ones, and Mosquitto is ready
 * when its own pid holds both ports.
 */
async function runExported(users: string, out: string): Promise<{ port: number; wsPort: number; stdout: string }> {
  for (let attempt = 1; ; attempt++) {
    const [port, wsPort] = [await freePort(), await freePort()];
    const r = qingcheng(
      ...['broker', 'export', '--mosquitto', out, '--users', users],
      ...['--port', String(port), '--ws-port', String(wsPort)],
    );
    expect(r.code, r.stderr).toBe(0);
    // Started as root, Mosquitto would run as the user `mosquitto`, who cannot read these files.
    if (process.getuid?.() === 0) appendFileSync(join(out, 'mosquitto.conf'), `user ${userInfo().username}\n`);
    const m: ChildProcess = spawn('mosquitto', ['-c', join(out, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: realClockEnv(),
    });
    stops.push(() => m.kill());
    let output = '';
    for (const s of [m.stdout!, m.stderr!]) s.on('data', (d: Buffer) => (output += d.toString()));
    const exited = () => m.exitCode !== null || m.signalCode !== null;
    await waitFor(
      `mosquitto (pid ${m.pid}) to listen on ports ${port} and ${wsPort}`,
      () => exited() || (listensOn(m.pid!, port) && listensOn(m.pid!, wsPort)),
      15_000,
      50,
    );
    if (!exited()) return { port, wsPort, stdout: r.stdout };
    if (attempt === 3 || !output.includes('in use')) throw new Error(`mosquitto exited: ${output}`);
  }
}

describe('broker export --mosquitto', () => {
  it('writes files Mosquitto runs with, over TCP and WebSocket, taking the passwords `broker user add` set', async () => {
    const users = join(dir, 'users.yaml');
    const out = join(dir, 'mosquitto');
    expect(addGatewayA(users).code).toBe(0);
    const { port, wsPort, stdout } = await runExported(users, out);
    expect(stdout).toContain('for 1 user(s)');
    expect(statSync(join(out, 'passwd')).mode & 0o777).toBe(0o600);
    expect(await login(port, 'pw-a')).toBe('accepted');
    expect(await login(port, 'wrong')).toMatch(/Not authorized/);
    // The console's way in: MQTT over WebSocket at /mqtt.
    expect(await login(wsPort, 'pw-a', 'ws')).toBe('accepted');
  });

  it('names each user without a Mosquitto hash and fails, unless told to skip them', () => {
    const users = join(dir, 'users-old.yaml');
    expect(addGatewayA(users).code).toBe(0);
    // An entry written before the Mosquitto hash was kept: only the scrypt hash.
    const scrypt = /password: (\S+)/.exec(readFileSync(users, 'utf8'))![1]!;
    appendFileSync(users, `  - username: gw-old\n    role: gateway\n    password: ${scrypt}\n`);
    const failed = qingcheng('broker', 'export', '--mosquitto', join(dir, 'again'), '--users', users);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`qingcheng broker user passwd --users ${users} --username gw-old --password`);
    expect(() => statSync(join(dir, 'again', 'passwd'))).toThrow();
    const skipped = qingcheng(
      'broker',
      'export',
      '--mosquitto',
      join(dir, 'again'),
      '--users',
      users,
      '--skip-missing',
    );
    expect(skipped.code).toBe(0);
    expect(readFileSync(join(dir, 'again', 'passwd'), 'utf8')).toMatch(/^gw-a:\$7\$10000\$[^\n]+\n$/);
    // Setting the password again gives the user its Mosquitto hash.
    expect(
      qingcheng('broker', 'user', 'passwd', '--users', users, '--username', 'gw-old', '--password', 'pw-old').code,
    ).toBe(0);
    const fixed = qingcheng('broker', 'export', '--mosquitto', join(dir, 'again'), '--users', users);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'again', 'acl'), 'utf8')).toContain('user gw-old\n');
  });
});

describe('broker auth-http', () => {
  it("answers EMQX's login check from the users file `broker user add` wrote", async () => {
    const users = join(dir, 'users-http.yaml');
    expect(addGatewayA(users).code).toBe(0);
    const file = join(dir, 'auth-http.ready.json');
    const p = new Proc('auth-http', ['broker', 'auth-http', '--users', users, '--port', '0', '--ready-file', file]);
    stops.push(() => void p.kill());
    const url = `http://127.0.0.1:${(await readyOf(p, file)).ports.http}`;
    expect((await fetch(`${url}/health`)).ok).toBe(true);
    const login = async (password: string) => {
      const res = await fetch(`${url}/emqx/authn`, {
        method: 'POST',
        body: JSON.stringify({ username: 'gw-a', password, clientid: 'gw-a', peerhost: '127.0.0.1' }),
      });
      return res.json();
    };
    expect(await login('pw-a')).toEqual({ result: 'allow', is_superuser: false });
    expect(await login('pw-b')).toEqual({ result: 'deny', is_superuser: false });
  });
});
