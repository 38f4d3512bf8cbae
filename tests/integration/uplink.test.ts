// The gateway's uplink against a real broker (Aedes, in process): the cap on unacknowledged records,
// newest-first alternation with the backlog, and re-publishing with backoff while nothing is acknowledged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { Outbox } from '../../gateway/outbox.ts';
import { Uplink } from '../../gateway/uplink.ts';
import { Node } from '../../protocol/config.ts';
import {
  decodeEnvelope,
  encodeAck,
  encodeRefusal,
  encodeResendRequest,
  type Envelope,
  type SampleRecord,
} from '../../protocol/envelope.ts';
import { decodeStatus } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const GW = 'gw-up';
const t = new Topics();
const dir = mkdtempSync(join(tmpdir(), 'qingcheng-uplink-'));
let broker: Broker;
let ingest: MqttClient;
const seen: Envelope[] = [];
let uplink: Uplink | undefined;
let outbox: Outbox | undefined;

// Pinned, and before every date the suite runs on (the test decodes envelopes, which refuse the future).
const T = Date.UTC(2025, 5, 15, 2);
const records = (n: number): SampleRecord[] =>
  Array.from({ length: n }, (_, i) => ({ dev: 'aq-1', kind: 'air.micro', ts: T + i * 1000, m: { pm25: i } }));

function start(mqttKeys: Record<string, unknown>, backlog: number): { uplink: Uplink; outbox: Outbox } {
  const cfg = parseGatewayConfig(
    new Node(join(dir, 'gw.yaml'), '', {
      gateway: { id: GW },
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, password: PASSWORDS.gateway, status_s: 60, ...mqttKeys },
      outbox: { path: `${GW}-${seen.length}-${Date.now()}.sqlite` },
      links: [{ name: 'push', type: 'http', listen: '127.0.0.1:0', token: 'push-token' }],
      devices: [{ id: 'aq-1', kind: 'air.micro', link: 'push' }],
    }),
  );
  outbox = new Outbox(cfg.outbox.path);
  outbox.append(records(backlog)); // stored while the uplink was away
  uplink = new Uplink(cfg, outbox);
  uplink.start();
  return { uplink, outbox };
}

const seqsOf = (e: Envelope) => [e.seq, e.seq + e.records.length - 1];

beforeAll(async () => {
  broker = await new Broker({ port: 0, users: await makeUsers([GW]) }).start();
  ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    username: 'ingest',
    password: PASSWORDS.ingest,
  });
  ingest.on('message', (_topic, p) => seen.push(decodeEnvelope(p)));
  await ingest.subscribeAsync(t.up(GW), { qos: 1 });
});
afterEach(async () => {
  await uplink?.stop();
  outbox?.close();
  seen.length = 0;
  await ingest.publishAsync(t.ack(GW), '', { qos: 1, retain: true }); // no retained ack for the next test
});
afterAll(async () => {
  await ingest.endAsync();
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('uplink', () => {
  it('sends the newest records first, then alternates with the oldest backlog', async () => {
    start({ batch_max: 10, window: 1 }, 50);
    await waitFor('all 50 records sent', () => seen.reduce((n, e) => n + e.records.length, 0) === 50, 10_000);
    expect(seen.map(seqsOf)).toEqual([
      [40, 49],
      [0, 9],
      [30, 39],
      [10, 19],
      [20, 29],
    ]);
  });

  it('holds at most max_unacked records unacknowledged, and goes on once ingest acknowledges', async () => {
    const { outbox: o } = start({ batch_max: 10, max_unacked: 30 }, 100);
    await waitFor('30 records sent', () => seen.reduce((n, e) => n + e.records.length, 0) === 30, 10_000);
    expect(o.unackedCount()).toBe(30);
    const firstSent = seen.map(seqsOf);
    // Ingest acknowledges the oldest ten (an ack is a watermark: every seq ≤ 9).
    await ingest.publishAsync(t.ack(GW), encodeAck({ ep: o.epoch, seq: 9 }), { qos: 1, retain: true });
    await waitFor('ten more records sent', () => seen.reduce((n, e) => n + e.records.length, 0) === 40, 10_000);
    // Newest first, then the backlog: the next envelope after the ack is the next-newest ten.
    expect(firstSent).toEqual([
      [90, 99],
      [0, 9],
      [80, 89],
    ]);
    expect(seqsOf(seen[3]!)).toEqual([10, 19]);
    expect(o.unackedCount()).toBe(30);
  });

  it('re-publishes what stays unacknowledged, backing off while nothing is acknowledged', async () => {
    const { uplink: u } = start({ batch_max: 5, republish_s: 1 }, 5);
    await waitFor('the first send', () => seen.length === 1, 10_000);
    await waitFor('two re-publications', () => seen.length === 3, 15_000);
    // The same records each time, under the same seqs: a replay overwrites itself in InfluxDB.
    expect(seen.map(seqsOf)).toEqual([
      [0, 4],
      [0, 4],
      [0, 4],
    ]);
    expect(seen.map((e) => e.records.map((r) => r.m.pm25))).toEqual([
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ]);
    expect(u.stats.republished).toBe(10);
    expect(u.republishIntervalMs).toBe(4000); // 1 s → 2 s → 4 s: an outage does not flood the broker
  });

  it("re-publishes at once on ingest's resend request for its epoch, at most once per interval", async () => {
    const { uplink: u, outbox: o } = start({ batch_max: 5, republish_s: 600 }, 5);
    await waitFor('the first send', () => seen.length === 1, 10_000);
    // Another epoch's request is ignored; the next one, published after it on the same connection, is served.
    await ingest.publishAsync(t.ack(GW), encodeResendRequest({ ep: 'other1', from: 0, t: T }), { qos: 1 });
    await ingest.publishAsync(t.ack(GW), encodeResendRequest({ ep: o.epoch, from: 0, t: T }), { qos: 1 });
    await waitFor('the records sent again', () => seen.length === 2, 10_000);
    expect(seen.map(seqsOf)).toEqual([
      [0, 4],
      [0, 4],
    ]);
    expect(u.stats).toMatchObject({ resends: 1, republished: 5 });
    // A storm of requests: one more resend once the interval has passed, not one each.
    for (let i = 0; i < 20; i++)
      await ingest.publishAsync(t.ack(GW), encodeResendRequest({ ep: o.epoch, from: 0, t: T }), { qos: 1 });
    await waitFor('the deferred resend', () => u.stats.resends === 2 && seen.length === 3, 15_000);
    expect(u.stats.republished).toBe(10);
    // Asked for, not a lack of progress: the back-off interval stays at republish_s.
    expect(u.republishIntervalMs).toBe(600_000);
    expect(o.depth).toBe(5);
  });

  it('says in its status why ingest refused an envelope, keeps the records, and counts the refusal', async () => {
    const { uplink: u, outbox: o } = start({ batch_max: 5 }, 5);
    await waitFor('the first send', () => seen.length === 1, 10_000);
    const statuses: unknown[] = [];
    const op = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: 'operator',
      password: PASSWORDS.operator,
    });
    op.on('message', (_topic, p) => statuses.push(decodeStatus(p)));
    await op.subscribeAsync(t.status(GW), { qos: 1 });
    const refusal = { reason: 'v: unknown version 2, expected 1', ep: o.epoch, from: 0, to: 4, t: T };
    await ingest.publishAsync(t.ack(GW), encodeRefusal(refusal), { qos: 1 });
    await waitFor('a status naming the refusal', () => statuses.some((s) => 'last_refusal' in (s as object)), 10_000);
    expect(statuses.at(-1)).toMatchObject({
      state: 'online',
      acked: -1,
      uplink: { refused: 1 },
      last_refusal: { reason: 'v: unknown version 2, expected 1', from: 0, to: 4, ts: T },
    });
    expect(u.stats.refused).toBe(1);
    expect(o.depth).toBe(5); // nothing dropped: a later fix, or a re-publication, can still deliver them
    await op.endAsync();
  });
});
