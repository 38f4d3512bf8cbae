// The private influxd on picked ports: a port picked free can be taken before influxd binds it (by
// anything, or by another InfluxDB answering /ping). The start notices and picks again, so a test or
// `npm start` never ends up writing to a server that is not its own.
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Influxd } from '../helpers/influxd.ts';
import { HeldPorts, losingFirst } from '../helpers/picked-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-influxd-ports-'));
const held = new HeldPorts();
let influx: Influxd | undefined;
afterEach(async () => {
  await influx?.stop();
  influx = undefined;
  await held.release();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('starts on other ports when the picked one is taken before influxd binds it', async () => {
  const taken = await held.hold(net.createServer((c) => c.destroy()));
  influx = await new Influxd(join(dir, 'a'), 'qingcheng', { pickPort: losingFirst(taken) }).start();
  expect(influx.port).not.toBe(taken);
  expect((await influx.query('SHOW DATABASES')).results[0]!.series![0]!.values).toContainEqual(['qingcheng']);
});

it('does not take another server answering /ping on the picked port for its own', async () => {
  const impostor = await held.hold(http.createServer((_req, res) => res.writeHead(204).end()));
  influx = await new Influxd(join(dir, 'b'), 'qingcheng', { pickPort: losingFirst(impostor) }).start();
  expect(influx.port).not.toBe(impostor);
  expect((await influx.query('SHOW DATABASES')).results[0]!.series![0]!.values).toContainEqual(['qingcheng']);
});
