// The hj212 link's logging under a logger that sends garbage: warnings rate-limited per connection and
// counted, echoed input cut short. A real listener on a free port, its clock pinned by the test.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../protocol/hj212.ts';

// The suite runs with QINGCHENG_LOG=error; these tests read the warnings, so the logger is loaded after.
process.env.QINGCHENG_LOG = 'warn';
const { setLogStream } = await import('../../protocol/log.ts');
const { Hj212Listener, WARN_EVERY_MS } = await import('../../gateway/drivers/hj212-listener.ts');

const SEGMENT_A =
  'QN=20240115103000123;ST=22;CN=2011;PW=123456;MN=150100A0000001000000A001;Flag=5;CP=&&DataTime=20240115103000;a34004-Rtd=56,a34004-Flag=N;a34002-Rtd=98,a34002-Flag=N&&';
/** Packet A sampled `m` minutes after 10:30 (each a new sample: the link stores a re-sent one only once). */
const frameAt = (m: number) => {
  const dataTime = new Date(Date.UTC(2024, 0, 15, 10, 30 + m)).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return encodeFrame(SEGMENT_A.replace('DataTime=20240115103000', `DataTime=${dataTime}`)).toString();
};

let clock = 0;
/** How far the clock moves each time the listener reads it: 0 pins it, WARN_EVERY_MS opens a window per read. */
let tick = 0;
const lines: Record<string, any>[] = [];
/** Checks waiting for the next log line. */
const waiting: (() => void)[] = [];
let stored = 0;
let onStore = () => {};
const listener = new Hj212Listener(
  { name: 'hj', type: 'hj212', host: '127.0.0.1', port: 0, offsetHours: 8, maxClockDriftS: 0 },
  [{ id: 'st-a', kind: 'air.station', link: 'hj', mn: '150100A0000001000000A001', crc: 'hj212' }],
  (records) => {
    stored += records.length;
    onStore();
  },
  () => (clock += tick),
);
let port = 0;

beforeAll(async () => {
  setLogStream({
    write: (s: string) => {
      lines.push(JSON.parse(s));
      for (const check of waiting.splice(0)) check();
    },
  });
  port = await listener.start();
});
afterAll(async () => {
  await listener.close();
  setLogStream(process.stderr);
});

/** A logger's connection, once it is open. */
async function logger(): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  return s;
}

/** Resolves when `n` more records have been stored. */
const storedMore = (n: number) =>
  new Promise<void>((resolve) => {
    const want = stored + n;
    onStore = () => stored >= want && resolve();
  });

/** Resolves when the listener has logged a line with this message. */
const logged = (msg: string) =>
  new Promise<void>((resolve) => {
    const check = () => (lines.some((l) => l.msg === msg) ? resolve() : waiting.push(check));
    check();
  });

const warnings = () => lines.filter((l) => l.level === 'warn');

describe('hj212 link logging under garbage', () => {
  it('300 frames each behind garbage: one warning line per connection per window, the rest counted', async () => {
    lines.length = 0;
    const s = await logger();
    const done = storedMore(300);
    s.write(Array.from({ length: 300 }, (_, i) => `noise ${i} #\r\n${frameAt(i)}`).join(''));
    await done;
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ msg: 'hj212 bytes dropped', link: 'hj' });
    // The window passes: the next warning carries the count of those held back.
    clock += WARN_EVERY_MS;
    const more = storedMore(1);
    s.write(`##9##9${frameAt(300)}`);
    await more;
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ msg: 'hj212 bytes dropped', suppressed: { 'hj212 bytes dropped': 299 } });
    // Held back again, then counted in one line when the logger hangs up.
    s.write('more noise');
    s.end();
    await logged('hj212 warnings held back on this connection');
    expect(warnings()).toHaveLength(3);
    expect(warnings()[2]).toMatchObject({ suppressed: { 'hj212 bytes dropped': 1 } });
  });

  it('echoes at most ~200 characters of what a logger sent, in the log and in the status', async () => {
    lines.length = 0;
    tick = WARN_EVERY_MS;
    const long = 'Z'.repeat(900);
    const s = await logger();
    s.write(encodeFrame(`ST=22;CN=2011;${long};MN=150100A0000001000000A001;CP=&&&&`)); // a header item with no '='
    s.write(encodeFrame(`ST=22;CN=2011;MN=${long};CP=&&&&`)); // an unknown MN
    // A registry code with a value suffix nobody knows: refused (no registry field), the suffix named.
    s.write(encodeFrame(`ST=22;CN=2011;MN=150100A0000001000000A001;CP=&&DataTime=20240115103000;a34004-${long}=1&&`));
    const ok = storedMore(1);
    s.write(frameAt(301));
    await ok;
    s.destroy();
    const refused = warnings().filter((l) => l.msg !== 'hj212 factor with no registry key is not stored');
    expect(refused.map((l) => l.msg)).toEqual([
      'hj212 packet refused',
      'hj212 packet from an MN no device of this link has; add it to the gateway config',
      'hj212 packet refused',
    ]);
    for (const l of warnings()) expect(JSON.stringify(l).length, l.msg).toBeLessThan(600);
    expect(refused[1]!.mn).toMatch(/^Z{200}… \(900 characters\)$/);
    const st = listener.perDevice.get('st-a')!;
    expect(st.lastError).toBe('no factor of the registry in the packet');
    for (const c of st.unknownCodes) expect(c.length).toBeLessThan(100);
  });
});
