// A shared Modbus bus with a unit that stops answering: the gateway backs off that unit (it costs its
// timeout once per back-off, not every cycle), its neighbour on the same bus stays up, and the unit is
// polled back to health when it answers again. A unit that answers with exceptions is named down with
// the exception.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

// Three stations, two units per TCP port: units 1 and 2 of the first port share its bus.
const p = new Pipeline({ stations: 3, pollMs: 250 });
beforeAll(() => p.start());
afterAll(() => p.stop());

it('backs off a unit that stops answering, keeps its neighbour up, and takes it back when it answers', async () => {
  await p.waitForRecords(12);
  const bus = p.fleet.servers[0]!;
  const [neighbour, dead] = p.fleet.endpoints.filter((e) => e.port === p.fleet.endpoints[0]!.port);
  bus.units.get(dead!.unit)!.silent = true;
  await waitFor('the unit to be down', () => p.status.devices.down.some((d) => d.dev === dead!.id), 20_000);
  const asked = bus.requestsByUnit.get(dead!.unit)!;
  // Twenty polls of the dead unit left out: at 250 ms a poll, five seconds in which it was asked
  // at most at 0.5, 1, 2 and 4 s into its back-off instead of on every one.
  await waitFor('polls left out', () => (p.status.sampling.backedOff ?? 0) >= 20, 20_000);
  expect(bus.requestsByUnit.get(dead!.unit)! - asked).toBeLessThanOrEqual(4);
  expect(p.status.devices.up).toContain(neighbour!.id);

  bus.units.get(dead!.unit)!.silent = false;
  await waitFor('the unit to be up again', () => p.status.devices.up.includes(dead!.id), 40_000);
});

it('names a unit that answers with an exception down, with the exception', async () => {
  const other = p.fleet.endpoints.find((e) => e.port !== p.fleet.endpoints[0]!.port)!;
  p.fleet.servers[1]!.units.get(other.unit)!.fault = 'exception';
  await waitFor('the unit to be down', () => p.status.devices.down.some((d) => d.dev === other.id), 20_000);
  expect(p.status.devices.down.find((d) => d.dev === other.id)!.error).toMatch(/exception|Exception/);
});
