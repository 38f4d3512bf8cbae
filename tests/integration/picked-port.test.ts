// Test servers that cannot listen on port 0 (redis-server, victoria-metrics, mosquitto) start on a picked port:
// when something takes it first, or another server answers there, they start again on a new one, so a
// test never talks to a server that is not its own.
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { listensOn } from '../helpers/listening.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { makeUsers } from '../helpers/pipeline.ts';
import { afterAll, afterEach, expect, it } from 'vitest';
import { HeldPorts, losingFirst, startOnPickedPort } from '../helpers/picked-port.ts';
import { RedisServer } from '../helpers/redis.ts';
import { victoriaMetricsOn } from '../helpers/victoria-metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-picked-port-'));
const held = new HeldPorts();
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await held.release();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const killed = (p: ChildProcess) => () => {
  const gone = new Promise((r) => p.once('exit', r));
  p.kill();
  return gone;
};

it('redis-server: a picked port held by another process is left for a new one', async () => {
  const taken = await held.hold(net.createServer((c) => c.destroy()));
  const redis = await new RedisServer(dir, losingFirst(taken)).start();
  stops.push(() => redis.stop());
  expect(redis.port).not.toBe(taken);
});

it('redis-server: another server answering PING on the picked port is not taken for ours', async () => {
  const impostor = await held.hold(net.createServer((c) => c.on('data', () => c.write('+PONG\r\n'))));
  const redis = await new RedisServer(dir, losingFirst(impostor)).start();
  stops.push(() => redis.stop());
  expect(redis.port).not.toBe(impostor);
});

it('victoria-metrics: another server answering /health and /flags on the picked port is not taken for ours', async () => {
  const impostor = await held.hold(http.createServer((_req, res) => res.end('-storageDataPath="/somewhere/else"\n')));
  const vm = await startOnPickedPort(
    'victoria-metrics',
    victoriaMetricsOn(join(dir, 'vm'), ['-retentionPeriod=100y']),
    losingFirst(impostor),
  );
  stops.push(killed(vm.proc));
  expect(vm.port).not.toBe(impostor);
  expect((await fetch(`http://127.0.0.1:${vm.port}/health`)).ok).toBe(true);
});

it('mosquitto: a picked port another process holds is left for a new one, and ours is held by its own pid', async () => {
  const taken = await held.hold(net.createServer((c) => c.destroy()));
  expect(listensOn(process.pid, taken)).toBe(true);
  const m = new Mosquitto(join(dir, 'mosquitto'), await makeUsers(['gw-a']));
  await m.start(losingFirst(taken));
  stops.push(() => m.stop());
  expect(m.port).not.toBe(taken);
  expect(listensOn(process.pid, m.port)).toBe(false);
});
