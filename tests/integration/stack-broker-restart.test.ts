// A broker killed with SIGKILL and started again on the same port (in memory: sessions, queues and
// retained acks are gone) is absorbed by its gateways: 200 load gateways, each with its own user, come
// back with the real gateway's jittered back-off — their first attempts spread out, not all at one
// instant — and every record published before, across and after the restart is stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../cli/load/audit.ts';
import { LoadStack } from '../../cli/load/stack.ts';
import { Topics } from '../../protocol/topics.ts';
import { FleetGateway, syntheticRecord } from '../../simulators/mqtt-load.ts';
import { waitFor } from '../helpers/wait.ts';

const G = 200;
const PREFIX = 'gw-restart-';
/** Sample times are pinned before any faketime the suite runs under. */
const BASE_TS = Date.UTC(2025, 10, 1);
const names = Array.from({ length: G }, (_, i) => `${PREFIX}${String(i + 1).padStart(3, '0')}`);
const password = 'restart-secret';
let stack: LoadStack;
let gws: FleetGateway[];

/** One more record on every gateway, published at once. */
function publishRound(): void {
  for (const gw of gws) {
    gw.add(syntheticRecord(`${gw.o.gateway}-aq`, BASE_TS + gw.nextSeq * 1000, gw.nextSeq));
    gw.pump();
  }
}

describe('a broker restart under 200 gateways', () => {
  beforeAll(async () => {
    stack = await new LoadStack({ gateways: names, password, workers: 1, shards: 16, progress: () => {} }).start();
    const topics = new Topics(undefined, 16);
    gws = names.map(
      (gateway) =>
        new FleetGateway({ url: stack.mqttUrl, gateway, password, batch: 50, window: 4, republishMs: 2000, topics }),
    );
    await Promise.all(gws.map((g) => g.connect()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all((gws ?? []).map((g) => g.close()));
    await stack?.stop();
  });

  it('every gateway comes back with spread-out attempts and nothing published is lost', async () => {
    // Re-publishing runs on each gateway's tick, as a gateway's timer would.
    const ticker = setInterval(() => gws.forEach((g) => g.tick()), 200);
    try {
      publishRound();
      publishRound();
      await waitFor('records before the restart to be acknowledged', () => gws.every((g) => g.settled), 60_000);
      // These are in flight (or held by the broker) when it dies.
      publishRound();
      const { killedAt } = await stack.restartBroker();
      await waitFor('every gateway to reconnect', () => gws.every((g) => g.reconnectedAt > killedAt), 90_000);
      publishRound();
      publishRound();
      await waitFor('every record to be acknowledged', () => gws.every((g) => g.settled), 90_000);
    } finally {
      clearInterval(ticker);
    }

    // Each gateway noticed the drop and tried again; the first attempts are spread over many instants.
    const first = gws.map((g) => g.attempts[0]);
    expect(first.every((t) => t !== undefined)).toBe(true);
    const at = first as number[];
    const slots = new Set(at.map((t) => Math.floor(t / 50)));
    expect(slots.size).toBeGreaterThanOrEqual(5);
    const perSlot = new Map<number, number>();
    for (const t of at) perSlot.set(Math.floor(t / 50), (perSlot.get(Math.floor(t / 50)) ?? 0) + 1);
    expect(Math.max(...perSlot.values())).toBeLessThan(G / 2);
    for (const g of gws) expect(g.attempts[0]!).toBeGreaterThanOrEqual(g.droppedAt);

    // Five records a gateway, each stored exactly once.
    expect(gws.every((g) => g.nextSeq === 5 && g.acked === 4)).toBe(true);
    const sent = new Map(gws.map((g) => [g.o.gateway, g.nextSeq]));
    const audited = await audit({ url: stack.influx.url, db: 'qingcheng' }, PREFIX, BASE_TS - 1000, sent);
    expect(audited).toHaveLength(G);
    expect(audited.filter((x) => x.lost || x.duplicated || x.distinct !== 5)).toEqual([]);
  }, 240_000);
});
