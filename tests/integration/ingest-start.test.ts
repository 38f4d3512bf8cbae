// An ingest worker's start and stop as other processes see them: its retained state on
// sys/ingest/{client}/state, and a start that the broker refuses settling with the reason.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { createIngest, type IngestOptions } from '../../ingest/from-options.ts';
import { decodeIngestState, type IngestState } from '../../protocol/messages.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { freePort, waitFor } from '../helpers/wait.ts';

let broker: Broker;
let url = '';
let deadDb = '';

beforeAll(async () => {
  broker = await new Broker({ port: 0, users: await makeUsers([]) }).start();
  url = `mqtt://127.0.0.1:${broker.port}`;
  deadDb = `http://127.0.0.1:${await freePort()}`; // nothing listens: the restores log and start empty
});
afterAll(() => broker.stop());

const options = (o: Partial<IngestOptions> = {}): IngestOptions => ({
  mqttUrl: url,
  username: 'ingest',
  password: PASSWORDS.ingest,
  index: 0,
  workers: 2,
  prefix: 'env/v1',
  shards: 16,
  influxUrl: deadDb,
  api: 'v1',
  db: 'qingcheng',
  org: '',
  bucket: '',
  ...o,
});

describe('ingest worker start', () => {
  it('announces itself running, retained, with its shards and what it restored, and offline when it stops', async () => {
    const states: IngestState[] = [];
    const op = await mqtt.connectAsync(url, { username: 'operator', password: PASSWORDS.operator });
    op.on('message', (_t, p) => states.push(decodeIngestState(p)));
    await op.subscribeAsync('env/v1/sys/ingest/+/state', { qos: 1 });
    const worker = await createIngest(options()).start();
    await waitFor('the running state', () => states.length === 1, 10_000);
    expect(states[0]).toMatchObject({
      state: 'running',
      worker: 0,
      workers: 2,
      shards: [0, 2, 4, 6, 8, 10, 12, 14],
      restored: { alarms: 0, air_windows: 0, replayed_devices: 0, replayed_samples: 0, rsd_passes: 0 },
    });
    await worker.stop();
    await waitFor('the offline state', () => states.length === 2, 10_000);
    expect(states[1]).toEqual({ state: 'offline' });
    await op.endAsync();
  });

  it('rejects with the reason when the broker refuses its subscriptions (a prefix the broker does not serve)', async () => {
    const start = createIngest(options({ prefix: 'other/v1', index: 1 })).start();
    await expect(start).rejects.toThrow(/refused the subscription to other\/v1\/alert\/\+.*prefix \(other\/v1\)/);
  });
});
