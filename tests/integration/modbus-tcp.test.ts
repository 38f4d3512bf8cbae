// The Modbus TCP driver against the simulated device server: reads, exceptions, silent units,
// a dropped link and reconnection.
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceReader } from '../../gateway/device-reader.ts';
import { DeviceError, LinkError, ModbusTcpLink } from '../../gateway/drivers/modbus-tcp.ts';
import { TEMPLATES } from '../../gateway/templates.ts';
import { waitFor } from '../../cli/services/ports.ts';
import { aq6Reading } from '../../simulators/models/aq6.ts';
import { ModbusTcpSimServer } from '../../simulators/modbus-tcp-server.ts';
import { aq6Unit } from '../../simulators/stations.ts';

let server: ModbusTcpSimServer | undefined;
let link: ModbusTcpLink | undefined;
afterEach(async () => { link?.close(); await server?.close(); server = undefined; });

async function serve(port = 0): Promise<number> {
  server = new ModbusTcpSimServer();
  server.units.set(1, aq6Unit(7));
  server.units.set(2, aq6Unit(8));
  return server.listen(port);
}

const linkTo = (port: number, timeoutMs = 300) => (link = new ModbusTcpLink({ name: 'bus', type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs }));
const device = (unit: number) => ({ id: `aq-${unit}`, kind: 'air.micro' as const, link: 'bus', unit, pollMs: 1000, template: TEMPLATES['SIM-AQ6']! });

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
    expect(Object.keys(rec.m)).toEqual(['pm25', 'pm10', 'so2', 'no2', 'co', 'o3', 'temp', 'rh', 'pressure', 'ws', 'wd']);
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
    await expect(l.read(1, 3, 0, 1)).rejects.toThrow(/cannot connect|is down/);
    await serve(port);
    await waitFor('the link to reconnect', async () => (await l.read(1, 3, 0, 1)).length === 1, 10_000, 100);
    expect(l.stats.reconnects).toBe(2);
  });
});
