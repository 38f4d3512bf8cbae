// Split packets (HJ 212-2017 §6.3: PNUM parts, PNO 1…PNUM, one QN): a logger whose upload outgrows one
// packet sends it in parts; the hj212 link stores one record with every part's factors, and answers it
// once, when the last part is in. A real listener and a real simulated logger over TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hj212Listener } from '../../gateway/drivers/hj212-listener.ts';
import { PacketAssembler, parseSegment, splitUploadSegments } from '../../protocol/hj212.ts';
import type { SampleRecord } from '../../protocol/envelope.ts';
import type { Hj212Logger } from '../../simulators/hj212-logger.ts';
import { stationLink, type StationLink } from '../helpers/hj212-link.ts';
import { waitFor } from '../helpers/wait.ts';

const MN = '150100A0000001000000A088';
const T = Date.UTC(2025, 5, 15, 2); // pinned, before every date the suite runs on
const FACTORS = {
  a34004: { Rtd: 56, Flag: 'N' },
  a34002: { Rtd: 98, Flag: 'N' },
  a21026: { Rtd: 12, Flag: 'N' },
  a21004: { Rtd: 35, Flag: 'N' },
  a21005: { Rtd: 0.8, Flag: 'N' },
  a05024: { Rtd: 62, Flag: 'D' },
};
const upload = {
  qn: '20250615100000000',
  st: '22',
  cn: '2011',
  pw: '123456',
  mn: MN,
  flag: 5,
  dataTime: '20250615100000',
  factors: FACTORS,
};

describe('split packets', () => {
  it('are put together in PNO order whatever order they come in, and a bad PNO is refused', () => {
    const parts = splitUploadSegments(upload, 3).map(parseSegment);
    expect(parts.map((p) => [p.pnum, p.pno, p.flag])).toEqual([
      [3, 1, 7],
      [3, 2, 7],
      [3, 3, 7],
    ]);
    const a = new PacketAssembler();
    expect(a.add(parts[2]!, 0)).toBeNull();
    expect(a.add(parts[0]!, 0)).toBeNull();
    expect(a.add(parts[0]!, 0)).toBeNull(); // sent again: replaces itself
    const whole = a.add(parts[1]!, 0)!;
    expect([...whole.cp.factors.keys()]).toEqual(Object.keys(FACTORS));
    expect(whole.cp.fields.DataTime).toBe('20250615100000');
    expect(whole.pnum).toBeUndefined();
    expect(() => a.add({ ...parts[0]!, pno: 4 }, 0)).toThrow(/PNO 4 is not 1–3/);
    a.add(parts[0]!, 0);
    expect(a.expire(60_001)).toEqual([{ mn: MN, have: 1, of: 3 }]);
  });

  const stored: SampleRecord[] = [];
  let link: StationLink;
  let listener: Hj212Listener;
  let logger: Hj212Logger;
  beforeAll(async () => {
    link = await stationLink({
      id: 'st-split',
      mn: MN,
      store: (records) => stored.push(...records),
      logger: { factors: () => FACTORS, splitParts: 3 },
    });
    ({ listener, logger } = link);
    logger.open();
  });
  afterAll(() => link.close());

  it('store one record with every part, answered once', async () => {
    logger.upload('2011', T, FACTORS);
    await waitFor('the upload answered', () => logger.stats.answered === 1, 10_000);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      dev: 'st-split',
      ts: T,
      m: { pm25: 56, pm10: 98, so2: 12, no2: 35, co: 0.8, o3: 62 },
      f: { o3: 'D' },
    });
    expect(logger.unanswered).toBe(0);
    expect(listener.perDevice.get('st-split')).toMatchObject({ accepted: 1, rejected: 0 });
  });
});
