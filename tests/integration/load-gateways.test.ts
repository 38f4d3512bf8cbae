// The simulated gateways of simulators/mqtt-load.ts (FleetGateway: `qingcheng load`, the lease tests;
// LoadGateway: bench/pipeline.ts) against a real broker (Aedes, in process), as a worker sees them: they
// re-publish everything unacknowledged at once on a resend request for their epoch (docs/protocol.md
// §5.1), at most once per interval, as a gateway does; their re-publish timer is set far out of reach.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { decodeEnvelope, encodeAck, encodeResendRequest } from '../../protocol/envelope.ts';
import { Topics } from '../../protocol/topics.ts';
import { FleetGateway, LoadGateway, syntheticRecord } from '../../simulators/mqtt-load.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const FLEET = 'gw-fleet-sim';
const LOAD = 'gw-load-sim';
const t = new Topics();
// Pinned, and before every date the suite runs on (the test decodes envelopes, which refuse the future).
const T = Date.UTC(2025, 5, 15, 2);
/** Deferred resends wait this long: long enough that a burst of requests is served once, not one each. */
const RESEND_MIN_MS = 2000;

let broker: Broker;
let ingest: MqttClient;
/** Copies received per gateway and first seq of an envelope. */
const copies = new Map<string, number>();
const got = (gw: string, seq: number) => copies.get(`${gw}/${seq}`) ?? 0;
const gateways: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  broker = await new Broker({ port: 0, users: await makeUsers([FLEET, LOAD]) }).start();
  ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'ingest',
    password: PASSWORDS.ingest,
  });
  ingest.on('message', (_topic, p) => {
    const e = decodeEnvelope(p);
    const k = `${e.gw}/${e.seq}`;
    copies.set(k, (copies.get(k) ?? 0) + 1);
  });
  await ingest.subscribeAsync([t.up(FLEET), t.up(LOAD)], { qos: 1 });
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await ingest?.endAsync();
  await broker?.stop();
});

const ask = (gw: string, ep: string) =>
  ingest.publishAsync(t.ack(gw), encodeResendRequest({ ep, from: 0, t: T }), { qos: 1 });
const ack = (gw: string, ep: string, seq: number) =>
  ingest.publishAsync(t.ack(gw), encodeAck({ ep, seq }), { qos: 1, retain: true });

describe('simulated gateways', () => {
  it('FleetGateway re-publishes what is unacknowledged on a resend request for its epoch, at most once per interval', async () => {
    const g = new FleetGateway({
      url: `mqtt://127.0.0.1:${broker.port}`,
      gateway: FLEET,
      password: PASSWORDS.gateway,
      batch: 10,
      window: 4,
      republishMs: 600_000,
      resendMinMs: RESEND_MIN_MS,
    });
    gateways.push(g);
    await g.connect();
    for (let i = 0; i < 30; i++) g.add(syntheticRecord(`${FLEET}-aq0`, T + i * 1000, i));
    g.pump();
    await waitFor('three envelopes', () => [0, 10, 20].every((s) => got(FLEET, s) === 1), 10_000);

    // Another epoch's request is ignored: the ack published after it on the same connection moves the
    // watermark, and by then the request was handled.
    await ask(FLEET, 'other1');
    await ack(FLEET, g.ep, 9);
    await waitFor('the first envelope acknowledged', () => g.acked === 9, 10_000);
    expect(g.resends).toBe(0);

    await ask(FLEET, g.ep);
    await waitFor('the unacknowledged envelopes sent again', () => got(FLEET, 10) === 2 && got(FLEET, 20) === 2);
    expect(got(FLEET, 0)).toBe(1); // acknowledged: not sent again
    expect(g).toMatchObject({ resends: 1, republished: 2 });

    // A burst of requests: one more resend once the interval has passed, not one each.
    for (let i = 0; i < 10; i++) await ask(FLEET, g.ep);
    await waitFor('the deferred resend', () => got(FLEET, 10) === 3 && got(FLEET, 20) === 3, 15_000);
    expect(g).toMatchObject({ resends: 2, republished: 4 });

    await ack(FLEET, g.ep, 29);
    await waitFor('everything acknowledged', () => g.settled, 10_000);
    // The broker PUBACKed each first publication once: copies are not counted as sent.
    expect(g.sent).toBe(30);
  });

  it('LoadGateway re-publishes what is unacknowledged on a resend request for its epoch', async () => {
    const g = new LoadGateway({
      url: `mqtt://127.0.0.1:${broker.port}`,
      gateway: LOAD,
      password: PASSWORDS.gateway,
      devices: 2,
      records: 30,
      batch: 10,
      window: 4,
      startTs: T,
      resendMinMs: RESEND_MIN_MS,
    });
    gateways.push(g);
    await g.connect();
    const done = g.run();
    await waitFor('three envelopes', () => [0, 10, 20].every((s) => got(LOAD, s) === 1), 10_000);
    await ack(LOAD, g.ep, 9);
    await waitFor('the first envelope acknowledged', () => g.acked === 9, 10_000);
    await ask(LOAD, g.ep);
    await waitFor('the unacknowledged envelopes sent again', () => got(LOAD, 10) === 2 && got(LOAD, 20) === 2);
    expect(got(LOAD, 0)).toBe(1);
    expect(g).toMatchObject({ resends: 1, republished: 2 });
    await ack(LOAD, g.ep, 29);
    await done;
  });
});
