// `qingcheng watch` against a real broker: alarm events as lines while the network publishes them, the
// connection's changes as lines of their own (so a pipe can tell a quiet network from a broken link), and
// a refused login said plainly.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS, Proc, ROOT } from '../helpers/pipeline.ts';

const t = new Topics();
let broker: Broker;
beforeAll(async () => {
  broker = await new Broker({ port: 0, users: await makeUsers(['gw-w']) }).start();
});
afterAll(() => broker.stop());

it('prints each alarm event as it happens (a retained one only restates what is open)', async () => {
  const ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'ingest',
    password: PASSWORDS.ingest,
    protocolVersion: 4,
  });
  const open = { rule: 'ultra-low', field: 'so2', since: 1795897926000, limit: 35, peak: 37.5, value: 37.5 };
  await ingest.publishAsync(
    t.alert('cems-1'),
    JSON.stringify({
      dev: 'cems-1',
      kind: 'stack.cems',
      event: { ...open, state: 'open', ts: 1795897926000 },
      open: [open],
    }),
    { qos: 1, retain: true },
  );
  const watch = new Proc('watch', [
    'watch',
    '--mqtt',
    `mqtt://127.0.0.1:${broker.port}`,
    '--password',
    PASSWORDS.operator,
    '--json',
  ]);
  try {
    await waitFor('watch to subscribe', () => broker.clients >= 2, 20_000);
    // Its subscription is in place once a message published after it arrives.
    const event = {
      dev: 'cems-1',
      kind: 'stack.cems',
      event: { ...open, state: 'close', ts: 1795898526000, value: 20 },
      open: [],
    };
    await waitFor(
      'the close event on the watch output',
      async () => {
        await ingest.publishAsync(t.alert('cems-1'), JSON.stringify(event), { qos: 1 });
        return watch.output.includes('"state":"close"');
      },
      20_000,
      500,
    );
    const lines = watch.output.split('\n').filter((l) => l.startsWith('{"dev"'));
    expect(JSON.parse(lines[0]!)).toEqual({
      dev: 'cems-1',
      kind: 'stack.cems',
      rule: 'ultra-low',
      field: 'so2',
      state: 'close',
      ts: 1795898526000,
      since: 1795897926000,
      value: 20,
      limit: 35,
    });
    expect(lines.some((l) => l.includes('"state":"open"'))).toBe(false); // the retained open was not news
  } finally {
    await watch.kill();
    await ingest.endAsync();
  }
});

it('says so and exits when the broker refuses the login', async () => {
  const watch = new Proc('watch', ['watch', '--mqtt', `mqtt://127.0.0.1:${broker.port}`, '--password', 'wrong']);
  expect(await watch.exited).toBe(1);
  expect(watch.output).toContain('refused the login of "operator"');
});

it('reports connected, disconnected and connected again as lines of their own when the broker restarts', async () => {
  const own = await new Broker({ port: 0, users: await makeUsers([]) }).start();
  const port = own.port;
  let restarted: Broker | undefined;
  const watch = new Proc('watch', [
    'watch',
    '--mqtt',
    `mqtt://127.0.0.1:${port}`,
    '--password',
    PASSWORDS.operator,
    '--json',
  ]);
  const connections = () =>
    watch.output
      .split('\n')
      .filter((l) => l.startsWith('{"connection"'))
      .map((l) => JSON.parse(l) as { connection: string; broker: string; user?: string; reason?: string });
  try {
    await waitFor('the connected line', () => connections().length >= 1, 20_000);
    expect(connections()[0]).toMatchObject({
      connection: 'connected',
      broker: `mqtt://127.0.0.1:${port}`,
      user: 'operator',
    });
    await own.stop();
    await waitFor('the disconnected line', () => connections().length >= 2, 20_000);
    expect(connections()[1]).toMatchObject({ connection: 'disconnected' });
    expect(connections()[1]!.reason).toBeTruthy();
    restarted = await new Broker({ port, users: await makeUsers([]) }).start();
    await waitFor('the second connected line', () => connections().length >= 3, 20_000);
    // One line per change: the failed reconnect attempts in between printed nothing.
    expect(connections().map((c) => c.connection)).toEqual(['connected', 'disconnected', 'connected']);
  } finally {
    await watch.kill();
    await restarted?.stop();
  }
});

it('reports a refused login as a line of its own before it exits', async () => {
  const watch = new Proc('watch', [
    'watch',
    '--mqtt',
    `mqtt://127.0.0.1:${broker.port}`,
    '--password',
    'wrong',
    '--lines',
  ]);
  expect(await watch.exited).toBe(1);
  expect(watch.output).toMatch(
    /refused +mqtt:\/\/127\.0\.0\.1:\d+ refused the login of "operator" \(Bad username or password\)/,
  );
  expect(watch.output).not.toMatch(/disconnected/);
});

const TMUX = ['/usr/bin/tmux', '/bin/tmux'].find(existsSync);
if (!TMUX) console.warn('tmux is not installed: the 80×24 terminal test is skipped (apt-get install tmux)');

it.skipIf(!TMUX)('draws a screen that fits an 80×24 terminal without wrapping', async () => {
  const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    clientId: 'gw-w',
    username: 'gw-w',
    password: PASSWORDS.gateway,
    protocolVersion: 4,
  });
  const pushed = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`rsd-${i}`, { accepted: 0, rejected: 0 }]));
  const status = {
    state: 'online',
    ts: 1795897926000,
    ep: 'e1',
    next_seq: 1,
    acked: 0,
    clock_offset_ms: -3,
    outbox: { depth: 0, evicted: 0 },
    uplink: {},
    sampling: {},
    devices: { up: [], degraded: ['aq-1', 'aq-2', 'aq-3', 'aq-4', 'aq-5'], down: [] },
    pushed,
  };
  await gw.publishAsync(t.status('gw-w'), JSON.stringify(status), { qos: 1, retain: true });
  // A tmux server of its own (-L), so the session gets this process's environment.
  const socket = `qc-watch-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync(TMUX!, ['-L', socket, ...args], { encoding: 'utf8' });
  const cmd = `${process.execPath} ${join(ROOT, 'bin/qingcheng.js')} watch --mqtt mqtt://127.0.0.1:${broker.port} --password ${PASSWORDS.operator}`;
  tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'w', cmd);
  try {
    let pane = '';
    await waitFor(
      'the screen to show the gateway',
      () => (pane = tmux('capture-pane', '-p', '-t', 'w')).includes('silent 10 min'),
      20_000,
    );
    const lines = pane.split('\n');
    // A wrapped line would continue on the next row: each of these is whole on a row of its own.
    expect(lines[0]).toMatch(/^qingcheng watch · connected · mqtt:\/\/127\.0\.0\.1:\d+ +\d\d-\d\d [\d:]{8} Beijing$/);
    expect(lines).toContain('      degraded: aq-1, aq-2, aq-3 and 2 more');
    expect(lines).toContain('      silent 10 min: rsd-0, rsd-1, rsd-2 and 297 more');
    expect(lines.find((l) => l.startsWith('  gw-w '))).toMatch(/online +0 +5 +0 +300 +300 +0 +-3 ms$/);
  } finally {
    tmux('kill-server');
    await gw.publishAsync(t.status('gw-w'), '', { qos: 1, retain: true });
    await gw.endAsync();
  }
});
