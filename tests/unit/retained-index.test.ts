import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { indexRetained, type RetainedStore } from '../../broker/retained-index.ts';

type P = Parameters<RetainedStore['storeRetained']>[0];
const pkt = (topic: string, body: string): P => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(body),
  qos: 1,
  retain: true,
});

/** A store that scans everything, as aedes-persistence does, and counts its scans. */
function scanningStore() {
  const all = new Map<string, P>();
  const match = (f: string, t: string) => f === t || (f.endsWith('/+') && t.startsWith(f.slice(0, -1)));
  const store = {
    scans: 0,
    async storeRetained(p: P) {
      if (p.payload.length === 0) all.delete(p.topic);
      else all.set(p.topic, p);
    },
    createRetainedStreamCombi(fs: string[]) {
      store.scans++;
      return Readable.from([...all.values()].filter((p) => fs.some((f) => match(f, p.topic))));
    },
    createRetainedStream(f: string) {
      return store.createRetainedStreamCombi([f]);
    },
  };
  return store;
}

const topics = async (r: Readable) => (await r.toArray()).map((p: P) => `${p.topic}=${p.payload}`);

describe('indexRetained', () => {
  it('answers exact filters from its map, wildcards from the store, and forgets cleared topics', async () => {
    const s = scanningStore();
    indexRetained(s);
    await s.storeRetained(pkt('qc/ack/gw-1', 'a'));
    await s.storeRetained(pkt('qc/ack/gw-2', 'b'));
    await s.storeRetained(pkt('qc/ack/gw-2', 'c'));
    expect(await topics(s.createRetainedStreamCombi(['qc/ack/gw-2', 'qc/ack/gw-9']))).toEqual(['qc/ack/gw-2=c']);
    expect(await topics(s.createRetainedStream('qc/ack/gw-1'))).toEqual(['qc/ack/gw-1=a']);
    expect(s.scans).toBe(0);
    expect(await topics(s.createRetainedStreamCombi(['qc/ack/+']))).toEqual(['qc/ack/gw-1=a', 'qc/ack/gw-2=c']);
    expect(s.scans).toBe(1);
    await s.storeRetained(pkt('qc/ack/gw-1', ''));
    expect(await topics(s.createRetainedStream('qc/ack/gw-1'))).toEqual([]);
  });
});
