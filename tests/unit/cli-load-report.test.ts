// The arithmetic of the load report: latency percentiles from the histogram, and the seq audit's lost and
// duplicated records from what InfluxDB answers (a stub server stands in for it).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, auditQueries } from '../../cli/load/audit.ts';
import { Histogram } from '../../cli/load/latency.ts';

describe('Histogram', () => {
  it('gives nearest-rank percentiles in whole milliseconds', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100; v++) h.add(v);
    expect(h.summary()).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('keeps values past its range as the maximum', () => {
    const h = new Histogram(1000);
    h.add(10, 98);
    h.add(5000, 2);
    expect(h.summary()).toEqual({ count: 100, p50: 10, p95: 10, p99: 5000, max: 5000 });
  });

  it('reads zeros when empty', () => {
    expect(new Histogram().summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });
});

describe('the seq audit', () => {
  let server: Server;
  let url = '';
  const asked: string[] = [];
  // gw-load-001: seqs 0–9 over two measurements, whole. gw-load-002: 0–9 sent, seq 4 missing and seq 7 at
  // two points. gw-load-003: nothing stored.
  const counts = [
    { name: 'air', tags: { gw: 'gw-load-001' }, columns: ['time', 'count', 'min', 'max'], values: [[0, 6, 0, 9]] },
    { name: 'noise', tags: { gw: 'gw-load-001' }, columns: ['time', 'count', 'min', 'max'], values: [[0, 4, 1, 8]] },
    { name: 'air', tags: { gw: 'gw-load-002' }, columns: ['time', 'count', 'min', 'max'], values: [[0, 10, 0, 9]] },
  ];
  const distinct = [
    { name: 'air', tags: { gw: 'gw-load-001' }, columns: ['time', 'count'], values: [[0, 6]] },
    { name: 'noise', tags: { gw: 'gw-load-001' }, columns: ['time', 'count'], values: [[0, 4]] },
    { name: 'air', tags: { gw: 'gw-load-002' }, columns: ['time', 'count'], values: [[0, 9]] },
  ];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams.get('q')!;
      asked.push(q);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ results: [{ series: q.includes('distinct') ? distinct : counts }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts lost and doubled records per gateway across measurements', async () => {
    const sent = new Map([
      ['gw-load-001', 10],
      ['gw-load-002', 10],
      ['gw-load-003', 5],
    ]);
    const r = await audit({ url, db: 'qingcheng' }, 'gw-load-', Date.UTC(2026, 0, 15), sent);
    expect(r).toEqual([
      { gw: 'gw-load-001', sent: 10, count: 10, distinct: 10, min: 0, max: 9, lost: 0, duplicated: 0 },
      { gw: 'gw-load-002', sent: 10, count: 10, distinct: 9, min: 0, max: 9, lost: 1, duplicated: 1 },
      { gw: 'gw-load-003', sent: 5, count: 0, distinct: 0, min: null, max: null, lost: 5, duplicated: 0 },
    ]);
    expect(asked).toEqual(Object.values(auditQueries('gw-load-', Date.UTC(2026, 0, 15))));
  });

  it('asks over every device measurement, from the run start, for the prefix only', () => {
    const q = auditQueries('gw.x-', 1_768_435_200_000);
    expect(q.counts).toBe(
      'SELECT count(seq), min(seq), max(seq) FROM air,stack,nh3slip,fumes,vapor,voc,rsd,water,noise WHERE time >= 1768435200000ms AND gw =~ /^gw\\.x-/ GROUP BY gw',
    );
    expect(q.distinct).toContain('count(distinct(seq))');
  });
});
