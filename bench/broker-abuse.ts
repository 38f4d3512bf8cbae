// What abusive clients cost the broker's memory: connections that announce a huge CONNECT without logging in
// and stream it, then a logged-in gateway streaming a huge PUBLISH. The broker runs as its own process, so
// its resident memory (VmRSS) is measured alone: before, at the peak while the clients stream, and after
// they are gone. Each client sends all of its packet but the last byte, so a broker that buffers keeps
// the packet for as long as the client stays. Prints JSON.
//   node bin/run-ts.js bench/broker-abuse.ts [--connections 6] [--mb 250] [--publish-mb 100]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addUser } from '../broker/users.ts';
import { Topics } from '../protocol/topics.ts';
import { Proc } from '../tests/helpers/pipeline.ts';
import { freePort, waitFor } from '../tests/helpers/wait.ts';
import { connectPacket, frame, publishPacket } from '../tests/helpers/mqtt-bytes.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '6' },
    mb: { type: 'string', default: '250' },
    'publish-mb': { type: 'string', default: '100' },
  },
});
const CONNECTIONS = Number(values.connections);
const CONNECT_BYTES = Number(values.mb) * 1_000_000;
const PUBLISH_BYTES = Number(values['publish-mb']) * 1_000_000;
const CHUNK = Buffer.alloc(64 * 1024, 0x41);

/** The broker's resident memory, in MB. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return Math.round(kb / 1024);
}

interface Streamed {
  sent: number;
  closedByBroker: boolean;
  socket: net.Socket;
}

/**
 * Writes `header`, then filler up to `total` bytes minus one, as fast as the broker reads; resolves when the
 * broker closes the connection or all but the last byte are sent (the connection then stays open).
 */
function stream(socket: net.Socket, header: Buffer, total: number): Promise<Streamed> {
  return new Promise((resolve) => {
    const r: Streamed = { sent: 0, closedByBroker: false, socket };
    let done = false;
    const finish = () => {
      if (!done) resolve(r);
      done = true;
    };
    socket.on('error', () => undefined);
    socket.once('close', () => {
      r.closedByBroker = r.sent < total - 1;
      finish();
    });
    const pump = () => {
      while (!socket.destroyed && r.sent < total - 1) {
        const piece = r.sent === 0 ? header : CHUNK.subarray(0, Math.min(CHUNK.length, total - 1 - r.sent));
        r.sent += piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      finish();
    };
    pump();
  });
}

const dial = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

/** Runs `abuse` while sampling the broker's memory; the peak, and the memory once the clients are gone. */
async function measure(pid: number, abuse: () => Promise<Streamed[]>) {
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const results = await abuse();
  await new Promise((r) => setTimeout(r, 500)); // let the broker take in what is on the wire
  peak = Math.max(peak, rssMb(pid));
  for (const s of results) s.socket.destroy();
  await new Promise((r) => setTimeout(r, 3000)); // the broker closes them and collects garbage
  clearInterval(sampler);
  return {
    rss_mb: { before, peak, after: rssMb(pid) },
    closed_by_broker: results.filter((s) => s.closedByBroker).length,
    mb_sent_before_close: results.map((s) => Math.round(s.sent / 1e5) / 10),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-abuse-'));
const users = join(dir, 'users.yaml');
await addUser(users, 'gw-abuse', 'gateway', 'pw');
const port = await freePort();
const broker = new Proc('broker', ['broker', '--users', users, '--host', '127.0.0.1', '--port', String(port)]);
try {
  await waitFor('the broker', () => broker.output.includes('broker listening'), 20_000);
  const pid = broker.child.pid!;
  const idle = rssMb(pid);

  const beforeLogin = await measure(pid, async () => {
    const header = frame(0x10, Buffer.alloc(0), CONNECT_BYTES - 5); // 5: the header itself
    const socks = await Promise.all(Array.from({ length: CONNECTIONS }, () => dial(port)));
    return Promise.all(socks.map((s) => stream(s, header, CONNECT_BYTES)));
  });

  const gatewayPublish = await measure(pid, async () => {
    const s = await dial(port);
    const connack = new Promise<Buffer>((r) => s.once('data', r));
    s.write(connectPacket('gw-abuse', 'gw-abuse', 'pw'));
    const ack = await connack;
    if (ack[3] !== 0) throw new Error(`the broker refused the gateway's login: CONNACK code ${ack[3]}`);
    const header = publishPacket(new Topics().up('gw-abuse'), Buffer.alloc(0), PUBLISH_BYTES - 5);
    return [await stream(s, header, PUBLISH_BYTES)];
  });

  console.log(
    JSON.stringify(
      {
        bench: 'broker-abuse',
        broker_idle_rss_mb: idle,
        before_login: { connections: CONNECTIONS, announced_mb: CONNECT_BYTES / 1e6, ...beforeLogin },
        gateway_publish: { announced_mb: PUBLISH_BYTES / 1e6, ...gatewayPublish },
      },
      null,
      2,
    ),
  );
} finally {
  await broker.kill();
  rmSync(dir, { recursive: true, force: true });
}
