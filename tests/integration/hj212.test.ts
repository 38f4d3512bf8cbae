// HJ 212 end to end: data loggers on TCP → the gateway's hj212 link → outbox → Aedes → ingest (a child
// process) → influxd. The standard's own packets and answers byte for byte, the engine's verdict on
// packet B, refusals that store nothing, and a simulated logger across kill -9 of the gateway.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { encodeFrame, FrameReader, Hj212Error } from '../../protocol/hj212.ts';
import { airFactors, Hj212Logger } from '../../simulators/hj212-logger.ts';
import { Pipeline } from '../helpers/pipeline.ts';

const PACKET_A =
  '##0339QN=20240115103000123;ST=22;CN=2011;PW=123456;MN=150100A0000001000000A001;Flag=5;CP=&&DataTime=20240115103000;a34004-Rtd=56,a34004-Flag=N;a34002-Rtd=98,a34002-Flag=N;a21026-Rtd=12,a21026-Flag=N;a21004-Rtd=35,a21004-Flag=N;a21005-Rtd=0.8,a21005-Flag=N;a05024-Rtd=62,a05024-Flag=N;a01001-Rtd=-8.5,a01001-Flag=N;a01002-Rtd=41.2,a01002-Flag=N&&EC81\r\n';
const PACKET_B =
  '##0780QN=20240115100000456;ST=31;CN=2061;PW=123456;MN=150100C0000001000000B001;Flag=5;CP=&&DataTime=20240115090000;a00000-Cou=1152000.0,a00000-Min=310.2,a00000-Avg=320.0,a00000-Max=331.5,a00000-Flag=N;a34013-Min=3.1,a34013-Avg=4.2,a34013-Max=5.6,a34013-ZsMin=3.58,a34013-ZsAvg=4.85,a34013-ZsMax=6.46,a34013-Cou=4.838,a34013-Flag=N;a21026-Min=22.5,a21026-Avg=28.0,a21026-Max=36.4,a21026-ZsMin=25.96,a21026-ZsAvg=32.31,a21026-ZsMax=42.00,a21026-Cou=32.256,a21026-Flag=N;a21002-Min=39.8,a21002-Avg=46.0,a21002-Max=55.2,a21002-ZsMin=45.92,a21002-ZsAvg=53.08,a21002-ZsMax=63.69,a21002-Cou=52.992,a21002-Flag=N;a19001-Min=7.6,a19001-Avg=8.0,a19001-Max=8.4,a19001-Flag=N;a01012-Avg=52.3,a01012-Flag=N;a01011-Avg=12.4,a01011-Flag=N;a01014-Avg=11.2,a01014-Flag=N;a01013-Avg=-0.35,a01013-Flag=N&&ACC1\r\n';
const MN_SIM = '150100A00000000000000BB8';

const p = new Pipeline({
  stations: 0,
  hj212: [
    { id: 'st-a', kind: 'air.station', mn: '150100A0000001000000A001' },
    { id: 'cems-b', kind: 'stack.cems', mn: '150100C0000001000000B001' },
    { id: 'st-sim', kind: 'air.station', mn: MN_SIM },
  ],
});

beforeAll(async () => {
  await p.start();
});
afterAll(() => p.stop());

/** A raw TCP peer: sends bytes, collects whole frames it receives. */
async function peer(): Promise<{ s: Socket; replies: string[] }> {
  const s = connect(p.hj212Port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  const replies: string[] = [];
  const reader = new FrameReader();
  s.on('data', (c: Buffer) => {
    for (const f of reader.push(c))
      if (!(f instanceof Hj212Error))
        replies.push(`##${String(f.segment.length).padStart(4, '0')}${f.segment}${f.crc}`);
  });
  return { s, replies };
}

describe('hj212 link', () => {
  it("stores packets A and B, answers each with the 9014 of the domain reference, and judges packet B's NOx", async () => {
    const { s, replies } = await peer();
    // Packet A cut in two, as TCP may deliver it; then packet B.
    s.write(PACKET_A.slice(0, 100));
    s.write(PACKET_A.slice(100) + PACKET_B);
    await waitFor('two answers', () => replies.length === 2, 20_000);
    expect(replies).toEqual([
      '##0087QN=20240115103000123;ST=91;CN=9014;PW=123456;MN=150100A0000001000000A001;Flag=4;CP=&&&&FF01',
      '##0087QN=20240115100000456;ST=91;CN=9014;PW=123456;MN=150100C0000001000000B001;Flag=4;CP=&&&&CE81',
    ]);
    s.destroy();
    await waitFor(
      'both records in InfluxDB',
      async () => (await p.influx.rows(`SELECT * FROM air, stack WHERE dev = 'st-a' OR dev = 'cems-b'`)).length === 2,
      20_000,
    );
    const [air] = await p.influx.rows(`SELECT * FROM air WHERE dev = 'st-a'`);
    expect(air).toMatchObject({
      time: Date.UTC(2024, 0, 15, 2, 30),
      kind: 'air.station',
      gw: p.gwId,
      pm25: 56,
      pm10: 98,
      so2: 12,
      no2: 35,
      co: 0.8,
      o3: 62,
      temp: -8.5,
      rh: 41.2,
    });
    const [stack] = await p.influx.rows(`SELECT * FROM stack WHERE dev = 'cems-b'`);
    expect(stack).toMatchObject({
      time: Date.UTC(2024, 0, 15, 1),
      agg: 'hour',
      nox_zsavg: 53.08,
      so2_zsavg: 32.31,
      dust_zsavg: 4.85,
      o2_avg: 8,
      gas_flow_cou: 1152000,
    });
    // Hourly ZsAvg 53.08 > 50 mg/m³ (ultra-low NOx): an exceedance at once; SO2 32.31 and dust 4.85 are within.
    await waitFor('the NOx alarm', () => p.alerts.some((e) => e.dev === 'cems-b'), 20_000);
    expect(p.alerts.filter((e) => e.dev === 'cems-b').map((e) => [e.rule, e.field, e.state, e.value, e.limit])).toEqual(
      [['ultra-low/hour', 'nox', 'open', 53.08, 50]],
    );
  });

  it('answers and stores nothing for a bad CRC, an unknown MN or garbage, and names them in the status', async () => {
    const { s, replies } = await peer();
    const badCrc = PACKET_A.replace('a34004-Rtd=56', 'a34004-Rtd=57')
      .replace('QN=20240115103000123', 'QN=20240115103100123')
      .replace('DataTime=20240115103000', 'DataTime=20240115103100');
    const unknownMn = PACKET_A.replace(/MN=150100A0000001000000A001/, 'MN=150100A0000001000000A999');
    s.write('garbage\r\n' + badCrc + unknownMn);
    // A good packet after them proves they were read (and answered only it).
    s.write(PACKET_A);
    await waitFor('an answer', () => replies.length === 1, 20_000);
    await waitFor('the status to count the refusals', () => p.status.pushed?.['st-a']?.rejected === 1, 20_000);
    // The good packet is packet A again (the same DataTime): answered, recognised, not stored again.
    expect(p.status.pushed?.['st-a']).toMatchObject({ accepted: 1, rejected: 1, resent: 1 });
    expect(p.status.pushed?.['st-a']?.lastError).toMatch(/^E_CRC_MISMATCH/);
    s.destroy();
    expect(await p.influx.rows(`SELECT * FROM air WHERE dev = 'st-a' AND pm25 = 57`)).toEqual([]);
    expect(p.gateway!.output).toContain('hj212 packet from an MN no device of this link has');
  });

  it('a stray "#" before a packet, and a bogus header whose length runs over the next packet, cost no packet', async () => {
    const { s, replies } = await peer();
    // Packet A at 10:32 and 10:34 (QN and DataTime moved, CRC recomputed).
    const at = (hhmm: string) =>
      encodeFrame(PACKET_A.slice(6, -6).replaceAll('202401151030', `20240115${hhmm}`)).toString('latin1');
    const [first, second] = [at('1032'), at('1034')];
    const filler = 'bytes of a logger that rebooted mid-frame ';
    const bogus = `##${String(filler.length + second.length - 6).padStart(4, '0')}${filler}`; // ends where `second` ends
    s.write('#' + first + bogus + second);
    await waitFor('both answered', () => replies.length === 2, 20_000);
    expect(replies.map((r) => r.slice(6, 26))).toEqual(['QN=20240115103200123', 'QN=20240115103400123']);
    s.destroy();
  });

  it('a simulated logger loses nothing across kill -9 of the gateway: it re-sends until answered', async () => {
    const logger = new Hj212Logger({
      host: '127.0.0.1',
      port: p.hj212Port,
      mn: MN_SIM,
      st: '22',
      intervalMs: 1000,
      ackTimeoutMs: 2000,
      factors: (t) => airFactors(3000, t),
    }).start();
    try {
      await waitFor('answers', () => logger.stats.answered >= 2, 20_000);
      await p.gateway!.kill('SIGKILL');
      await waitFor('uploads nobody answers', () => logger.unanswered >= 2, 20_000);
      p.startGateway();
      await waitFor(
        'the logger to reconnect and be answered',
        () => logger.stats.connects >= 2 && logger.stats.answered >= 6 && logger.unanswered === 0,
        30_000,
      );
    } finally {
      logger.stop();
    }
    await waitFor('the gateway to stop getting uploads', () => logger.unanswered === 0, 20_000);
    const answered = logger.stats.answered;
    await waitFor(
      'every answered upload in InfluxDB',
      async () => (await p.influx.rows(`SELECT * FROM air WHERE dev = 'st-sim'`)).length >= answered,
      30_000,
    );
    const rows = await p.influx.rows(`SELECT * FROM air WHERE dev = 'st-sim'`);
    // One row per second the logger sampled, each with the model's values for that second.
    expect(rows.length).toBe(answered);
    for (const r of rows) expect(r.pm25).toBe(airFactors(3000, new Date(r.time as number)).a34004!.Rtd);
  });
});
