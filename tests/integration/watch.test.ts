// `qingcheng watch` against a real broker: alarm events as lines while the network publishes them, and a
// refused login said plainly.
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS, Proc } from '../helpers/pipeline.ts';

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
    const lines = watch.output.split('\n').filter((l) => l.startsWith('{'));
    expect(JSON.parse(lines[0]!)).toEqual({
      dev: 'cems-1',
      kind: 'stack.cems',
      rule: 'ultra-low',
      field: 'so2',
      state: 'close',
      ts: 1795898526000,
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
