// The broker's guards alone: reading packet sizes from MQTT fixed headers, the per-address connection
// bucket, the failed-login back-off, who owns a client id, and who may retain what (docs/protocol.md §2.3–2.4).
import { describe, expect, it } from 'vitest';
import { mayRetain } from '../../broker/acl.ts';
import { ownerOf, sessionId } from '../../broker/client-ids.ts';
import { AddressBuckets, Gate, LoginBackoff } from '../../broker/guards.ts';
import { FrameScanner } from '../../broker/packet-gate.ts';
import { varint } from '../helpers/mqtt-bytes.ts';

describe('FrameScanner', () => {
  it('knows a packet is too large from its header alone, even when the length arrives a byte at a time', () => {
    const s = new FrameScanner();
    const header = [0x10, ...varint(250_000_000)];
    for (let i = 0; i < header.length - 1; i++)
      expect(s.scan(Buffer.from([header[i]!]), 0, 4096, false)).toEqual({ end: 1 });
    expect(s.scan(Buffer.from([header.at(-1)!]), 0, 4096, false)).toEqual({
      end: 1,
      refusal: { kind: 'oversize', size: 1 + 4 + 250_000_000, limit: 4096 },
    });
  });

  it('lets packets within the limit pass across chunk boundaries, counting the whole packet', () => {
    const s = new FrameScanner();
    const p = Buffer.concat([Buffer.from([0x30, ...varint(200)]), Buffer.alloc(200)]); // 203 bytes
    const two = Buffer.concat([p, p]);
    expect(s.scan(two.subarray(0, 150), 0, 203, false)).toEqual({ end: 150 });
    expect(s.scan(two.subarray(150), 0, 203, false)).toEqual({ end: two.length - 150 });
    expect(s.packets).toBe(2);
    expect(new FrameScanner().scan(p, 0, 202, false).refusal).toEqual({ kind: 'oversize', size: 203, limit: 202 });
  });

  it('stops before a second packet while told to hold, and resumes there', () => {
    const s = new FrameScanner();
    const two = Buffer.from([0x10, 2, 0, 0, 0x30, 1, 9]);
    expect(s.scan(two, 0, 100, true)).toEqual({ end: 4, held: true });
    expect(s.scan(two, 4, 100, false)).toEqual({ end: 7 });
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new FrameScanner().scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]), 0, 1e9, false).refusal).toEqual({
      kind: 'malformed',
    });
  });
});

describe('AddressBuckets', () => {
  it('allows a burst per address, then refills at the rate', () => {
    let now = 0;
    const b = new AddressBuckets(3, 2, () => now);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
    expect(b.take('b')).toBe(true); // another address has its own bucket
    now = 499;
    expect(b.take('a')).toBe(false);
    now = 1000;
    expect(b.take('a')).toBe(true);
    now = 10_000;
    b.prune();
    expect(b.size).toBe(0); // full buckets are forgotten
  });
});

describe('Gate', () => {
  /** Starts a task holding the gate until released, and the order tasks started in. */
  async function order(lifo: boolean): Promise<number[]> {
    const gate = new Gate(1, lifo);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      gate.run(async () => {
        started.push(i);
        await new Promise<void>((r) => releases.push(r));
      }),
    );
    for (let k = 0; k < 4; k++) {
      await new Promise((r) => setImmediate(r));
      releases.shift()!();
    }
    await Promise.all(runs);
    return started;
  }

  it('runs waiting tasks in arrival order, or newest first when told', async () => {
    expect(await order(false)).toEqual([0, 1, 2, 3]);
    expect(await order(true)).toEqual([0, 3, 2, 1]);
  });
});

describe('LoginBackoff', () => {
  it('holds refusals longer with each failure of a user or an address, up to a maximum, and forgets after a while', () => {
    let now = 0;
    const b = new LoginBackoff({ baseMs: 100, maxMs: 1000, windowMs: 60_000 }, () => now);
    expect([1, 2, 3, 4, 5, 6].map(() => b.fail(['user:gw-a', 'addr:10.0.0.1']))).toEqual([0, 100, 200, 400, 800, 1000]);
    // the same address guessing another user is held as long; so is the same user from elsewhere
    expect(b.fail(['user:gw-b', 'addr:10.0.0.1'])).toBe(1000);
    expect(b.delay(['user:gw-a', 'addr:10.0.0.2'])).toBe(1000);
    expect(b.delay(['user:gw-c', 'addr:10.0.0.3'])).toBe(0);
    now = 60_001;
    expect(b.delay(['user:gw-a', 'addr:10.0.0.1'])).toBe(0);
    b.prune();
    expect(b.size).toBe(0);
  });
});

describe('client ids', () => {
  const users = new Set(['gw-a', 'gw-a-2', 'ingest', 'operator', 'op']);
  const isUser = (n: string) => users.has(n);

  it('belong to the longest user name they equal or start with before a dash', () => {
    expect(ownerOf('gw-a', isUser)).toBe('gw-a');
    expect(ownerOf('gw-a-2', isUser)).toBe('gw-a-2');
    expect(ownerOf('gw-a-3', isUser)).toBe('gw-a');
    expect(ownerOf('ingest-0-of-1-restore', isUser)).toBe('ingest');
    expect(ownerOf('operatorx', isUser)).toBeUndefined();
    expect(ownerOf('mqttjs_1a2b', isUser)).toBeUndefined();
    expect(ownerOf('op-1:x', isUser)).toBeUndefined(); // a colon marks an id filed under a user
  });

  it("keeps a gateway to its own name, refuses another user's id, and files the rest under the user", () => {
    const gw = { username: 'gw-a', role: 'gateway' } as const;
    const ingest = { username: 'ingest', role: 'ingest' } as const;
    const anonymous = { username: '', role: 'operator' } as const;
    expect(sessionId(gw, 'gw-a', isUser)).toEqual({ id: 'gw-a' });
    expect(sessionId(gw, 'gw-a-3', isUser)).toHaveProperty('refused');
    expect(sessionId(ingest, 'ingest-0-of-1', isUser)).toEqual({ id: 'ingest-0-of-1' });
    expect(sessionId(ingest, 'gw-a', isUser)).toHaveProperty('refused');
    expect(sessionId(ingest, 'op-1', isUser)).toHaveProperty('refused');
    expect(sessionId(ingest, 'mqttjs_1a2b', isUser)).toEqual({ id: 'ingest:mqttjs_1a2b' });
    expect(sessionId(ingest, 'op-1:x', isUser)).toEqual({ id: 'ingest:op-1:x' });
    expect(sessionId(anonymous, 'mqttjs_1a2b', isUser)).toEqual({ id: '*:mqttjs_1a2b' });
    expect(sessionId(anonymous, 'operator', isUser)).toHaveProperty('refused');
  });
});

describe('retained publishes', () => {
  it('are refused to a gateway on up/ and allowed on its status', () => {
    const gw = { username: 'gw-a', role: 'gateway' } as const;
    expect(mayRetain(gw, 'env/v1', 'env/v1/up/3/gw-a')).toBe(false);
    expect(mayRetain(gw, 'env/v1', 'env/v1/status/gw-a')).toBe(true);
    expect(mayRetain({ username: 'ingest', role: 'ingest' }, 'env/v1', 'env/v1/ack/gw-a')).toBe(true);
  });
});
