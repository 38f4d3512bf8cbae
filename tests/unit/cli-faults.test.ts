// `qingcheng simulate --fault DEVICE=KIND,…`: each named unit gets its fault on the bus that serves it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyFaults } from '../../cli/simulate.ts';
import { AirFleet } from '../../simulators/stations.ts';

const fleet = new AirFleet();
beforeAll(() => fleet.start({ stations: 3, unitsPerServer: 2, basePort: 0, seed: 1001 }));
afterAll(() => fleet.stop());

const unitOf = (dev: string) => {
  const e = fleet.endpoints.find((x) => x.id === dev)!;
  return fleet.servers
    .find((b) => b.units.has(e.unit) && 'port' in b && (b as { port: number }).port === e.port)!
    .units.get(e.unit)!;
};

it('sets the fault of each named unit, and only of that unit', () => {
  const timers = applyFaults(fleet, 'aq-1001=silent, aq-1002=exception,aq-1003=swapped');
  expect(timers).toEqual([]);
  expect(unitOf('aq-1001')).toMatchObject({ silent: true });
  expect(unitOf('aq-1002')).toMatchObject({ fault: 'exception' });
  expect(unitOf('aq-1002').silent).toBeUndefined();
  expect(unitOf('aq-1003')).toMatchObject({ fault: 'swapped' });
  const flaky = applyFaults(fleet, 'aq-1003=flaky');
  expect(flaky).toHaveLength(1);
  for (const t of flaky) clearInterval(t);
});

it('names what is wrong with a fault it cannot apply', () => {
  expect(() => applyFaults(fleet, 'aq-9999=silent')).toThrow(
    /no simulated device aq-9999 \(the devices: aq-1001, aq-1002, aq-1003\)/,
  );
  expect(() => applyFaults(fleet, 'aq-1001=melted')).toThrow(
    /--fault aq-1001=melted: expected DEVICE=silent\|slow\|exception/,
  );
});
