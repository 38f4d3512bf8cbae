// `--ready-file` (docs/architecture.md §2.7): each long-running role, started on port 0, writes its pid and
// the ports it got, and each port named there answers as that listener; the file is written whole, never
// mistaken for an earlier process's, and removed on a clean stop.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/args.ts';
import { writeReadyFile } from '../../cli/ready-file.ts';
import { makeUsers, Proc, ROOT } from '../helpers/pipeline.ts';
import { readyOf } from '../helpers/ready-file.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'qingcheng-ready-'));
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0).reverse()) await p.kill();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether something accepts a TCP connection on `port`. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

function start(name: string, args: string[]): { proc: Proc; file: string } {
  const file = join(dir, `${name}.json`);
  const proc = new Proc(name, [...args, '--ready-file', file]);
  procs.push(proc);
  return { proc, file };
}

describe('--ready-file', () => {
  it('broker: every listener asked for, by option name, each answering as itself; removed on SIGTERM', async () => {
    const users = join(dir, 'users.yaml');
    writeFileSync(users, stringify({ users: await makeUsers(['gw-a']) }));
    // A file left by an earlier process (another pid) is not taken for this one's.
    const file = join(dir, 'broker.json');
    writeFileSync(file, JSON.stringify({ pid: 1, ports: { mqtt: 1 } }));
    const { proc } = start('broker', [
      'broker',
      ...['--users', users, '--port', '0', '--health-port', '0', '--ws-port', '0', '--metrics-port', '0'],
    ]);
    const ready = await readyOf(proc, file);
    expect(ready.pid).toBe(proc.child.pid);
    expect(Object.keys(ready.ports).sort()).toEqual(['health', 'metrics', 'mqtt', 'ws']);
    expect(new Set(Object.values(ready.ports)).size).toBe(4);
    const health = (await (await fetch(`http://127.0.0.1:${ready.ports.health}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    expect(await (await fetch(`http://127.0.0.1:${ready.ports.metrics}/metrics`)).text()).toContain(
      'qingcheng_broker_clients',
    );
    // The WebSocket listener answers its upgrade path; the MQTT port takes TCP.
    const ws = await fetch(`http://127.0.0.1:${ready.ports.ws}/mqtt`).catch((e: Error) => e);
    expect(ws).not.toBeInstanceOf(Error);
    expect(await accepts(ready.ports.mqtt!)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await proc.kill();
    expect(existsSync(file)).toBe(false);
  });

  it('gateway: its metrics port and each http link by name', async () => {
    const config = join(dir, 'gw.yaml');
    writeFileSync(
      config,
      stringify({
        gateway: { id: 'gw-a' },
        // Nothing listens on port 1: the links listen whether or not the broker is reachable.
        mqtt: { url: 'mqtt://127.0.0.1:1', password: 'unused' },
        outbox: { path: join(dir, 'gw.outbox.sqlite') },
        links: [{ name: 'push', type: 'http', listen: '127.0.0.1:0', token: 'a-token' }],
        devices: [{ id: 'rsd-0001', kind: 'rsd', link: 'push' }],
      }),
    );
    const { proc, file } = start('gateway', ['gateway', '--config', config, '--metrics-port', '0']);
    const ready = await readyOf(proc, file);
    expect(Object.keys(ready.ports)).toEqual(['metrics']);
    expect(Object.keys(ready.links!)).toEqual(['push']);
    // The link's own answer: a push without its token.
    const res = await fetch(`http://127.0.0.1:${ready.links!.push}/records`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${ready.ports.metrics}/metrics`)).status).toBe(200);
  });

  it('console and broker auth-http: their HTTP port', async () => {
    const users = join(dir, 'users-http.yaml');
    writeFileSync(users, stringify({ users: await makeUsers(['gw-a']) }));
    const c = start('console', ['console', '--port', '0', '--ws', 'ws://127.0.0.1:1/mqtt']);
    const auth = start('auth-http', ['broker', 'auth-http', '--port', '0', '--users', users]);
    const [web, authHttp] = await Promise.all([readyOf(c.proc, c.file), readyOf(auth.proc, auth.file)]);
    expect(await (await fetch(`http://127.0.0.1:${web.ports.http}/config.json`)).json()).toMatchObject({
      ws: 'ws://127.0.0.1:1/mqtt',
    });
    expect((await fetch(`http://127.0.0.1:${authHttp.ports.http}/health`)).ok).toBe(true);
  });

  // The roles run above reject an option they do not know; these two are run elsewhere (metrics.test.ts, stack.test.ts).
  it('is listed in the --help of ingest and stack', async () => {
    const roles = [['ingest'], ['stack']];
    const helps = await Promise.all(
      roles.map((cmd) => run(process.execPath, [join(ROOT, 'bin/qingcheng.js'), ...cmd, '--help'])),
    );
    helps.forEach(({ stdout }, i) => expect(stdout, roles[i]!.join(' ')).toContain('--ready-file'));
  });

  it('is written whole, over an earlier file, and a path that cannot be written is a one-line error', () => {
    const file = join(dir, 'direct.json');
    writeFileSync(file, 'left over');
    const remove = writeReadyFile(file, { mqtt: 40123, metrics: undefined }, { push: 40124 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      pid: process.pid,
      ports: { mqtt: 40123 },
      links: { push: 40124 },
    });
    expect(existsSync(`${file}.tmp`)).toBe(false);
    remove();
    expect(existsSync(file)).toBe(false);
    const bad = join(dir, 'no-such-dir', 'ready.json');
    expect(() => writeReadyFile(bad, {})).toThrow(CliError);
    expect(() => writeReadyFile(bad, {})).toThrow(`--ready-file: cannot write ${bad}`);
  });
});
