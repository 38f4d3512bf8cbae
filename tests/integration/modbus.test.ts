// The Modbus driver against simulated device servers: Modbus TCP (reads, exceptions, silent units, a
// dropped link and reconnection), RTU frames over TCP, and RTU on a serial line (a socat pty pair).
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceReader } from '../../gateway/device-reader.ts';
import { DeviceError, LinkError, ModbusLink } from '../../gateway/drivers/modbus.ts';
import { TEMPLATES } from '../../gateway/templates.ts';
import { waitFor } from '../helpers/wait.ts';
import { aq6Reading } from '../../simulators/models/aq6.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModbusSerialSim, ModbusTcpSimServer, type Served } from '../../simulators/modbus-server.ts';
import { ptyPair, type PtyPair } from '../helpers/socat.ts';
import { aq6Unit } from '../../simulators/stations.ts';

let server: ModbusTcpSimServer | undefined;
let link: ModbusLink | undefined;
afterEach(async () => {
  link?.close();
  await server?.close();
  server = undefined;
});

async function serve(port = 0): Promise<number> {
  server = new ModbusTcpSimServer();
  server.units.set(1, aq6Unit(7));
  server.units.set(2, aq6Unit(8));
  return server.listen(port);
}

const linkTo = (port: number, timeoutMs = 300) =>
  (link = new ModbusLink({ name: 'bus', type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs }));
const device = (unit: number) => ({
  id: `aq-${unit}`,
  kind: 'air.micro' as const,
  link: 'bus',
  unit,
  pollMs: 1000,
  template: TEMPLATES['SIM-AQ6']!,
});

describe('modbus tcp link', () => {
  it('reads SIM-AQ6 units behind one port and decodes what they served', async () => {
    const l = linkTo(await serve());
    const served: number[][] = [];
    server!.onServe = (s) => served.push(s.regs);
    const rec = await new DeviceReader(device(2)).sample(l, Date.now());
    expect(served).toHaveLength(1); // one 12-register request
    const now = aq6Reading(8, new Date());
    expect(rec.dev).toBe('aq-2');
    expect(rec.m.pressure).toBeCloseTo(now.pressure, 0);
    expect(Object.keys(rec.m)).toEqual([
      'pm25',
      'pm10',
      'so2',
      'no2',
      'co',
      'o3',
      'temp',
      'rh',
      'pressure',
      'ws',
      'wd',
    ]);
  });

  it('keeps one request in flight: concurrent reads are answered in order', async () => {
    const l = linkTo(await serve());
    server!.units.get(1)!.delayMs = 20;
    await Promise.all(Array.from({ length: 5 }, (_, i) => l.read(1, 3, i, 2)));
    expect(server!.requests).toBe(5);
    expect(server!.maxPending).toBe(1);
  });

  it('reports an exception answer as a device error and keeps the link', async () => {
    const l = linkTo(await serve());
    await expect(l.read(1, 3, 0x200, 1)).rejects.toThrow(DeviceError);
    await expect(l.read(1, 3, 0x200, 1)).rejects.toThrow(/exception 2/);
    expect((await l.read(1, 3, 0, 1)).length).toBe(1);
    expect(l.stats.reconnects).toBe(1);
  });

  it('times out a silent unit without dropping the other units on the link', async () => {
    const l = linkTo(await serve());
    server!.units.get(2)!.silent = true;
    await expect(l.read(2, 3, 0, 1)).rejects.toThrow(/unit 2 did not answer within 300 ms/);
    expect((await l.read(1, 3, 0, 1)).length).toBe(1);
    expect(l.stats.reconnects).toBe(1);
  });

  it('reports a link that is down, backs off, and reconnects when the server returns', async () => {
    const port = await serve();
    const l = linkTo(port);
    await l.read(1, 3, 0, 1);
    await server!.close();
    await waitFor('the client to see the close', () => !l.connected, 5000, 10);
    await expect(l.read(1, 3, 0, 1)).rejects.toThrow(LinkError);
    await expect(l.read(1, 3, 0, 1)).rejects.toThrow(/cannot open|is down/);
    await serve(port);
    await waitFor('the link to reconnect', async () => (await l.read(1, 3, 0, 1)).length === 1, 10_000, 100);
    expect(l.stats.reconnects).toBe(2);
  });
});

describe('modbus rtu over tcp (a serial device server in transparent mode)', () => {
  it('reads units with RTU frames and CRCs; an absent unit stays silent, as on the bus', async () => {
    server = new ModbusTcpSimServer('rtu');
    server.units.set(3, aq6Unit(9));
    const port = await server.listen();
    link = new ModbusLink({ name: 'dtu', type: 'modbus-rtu-tcp', host: '127.0.0.1', port, timeoutMs: 300 });
    const rec = await new DeviceReader({ ...device(3), link: 'dtu' }).sample(link, Date.now());
    expect(rec.m.pm25).toBe(aq6Reading(9, new Date(rec.ts)).pm25);
    await expect(link.read(4, 3, 0, 1)).rejects.toThrow(/unit 4 did not answer within 300 ms/);
    expect((await link.read(3, 3, 0, 1)).length).toBe(1);
  });
});

describe('modbus rtu on a serial line', () => {
  let dir = '';
  let pair: PtyPair | undefined;
  let sim: ModbusSerialSim | undefined;
  afterEach(async () => {
    link?.close();
    link = undefined;
    await sim?.close();
    await pair?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('polls SIM-AQ6 units through a pty pair, one request at a time, and recovers from a silent unit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qingcheng-serial-'));
    pair = await ptyPair(dir);
    sim = new ModbusSerialSim();
    sim.units.set(1, aq6Unit(7));
    sim.units.set(2, aq6Unit(8));
    await sim.open(pair.a, 19200);
    const served: Served[] = [];
    sim.onServe = (s) => served.push(s);
    link = new ModbusLink({
      name: 'rs485',
      type: 'modbus-rtu',
      device: pair.b,
      baudRate: 19200,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
      timeoutMs: 300,
    });
    const [r1, r2] = await Promise.all(
      [1, 2].map((u) => new DeviceReader({ ...device(u), link: 'rs485' }).sample(link!, Date.now())),
    );
    expect(served.map((s) => s.unit)).toEqual([1, 2]);
    expect(sim.maxPending).toBe(1);
    expect(r1!.m.pm25).toBe(aq6Reading(7, new Date(served[0]!.at)).pm25);
    expect(r2!.m.wd).toBe(aq6Reading(8, new Date(served[1]!.at)).wd);
    sim.units.get(2)!.silent = true;
    await expect(link.read(2, 3, 0, 1)).rejects.toThrow(/unit 2 did not answer within 300 ms/);
    expect((await link.read(1, 3, 0, 12)).length).toBe(12);
  });
});
