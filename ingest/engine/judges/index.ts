// The judges table: which family judges each device kind. Adding a device class is a judge file, a row
// here, and its tests.
import type { DeviceKind } from '../../../protocol/kinds.ts';
import { RSD_DEFAULTS, type RsdSettings } from '../../../standards/rsd.ts';
import { AirJudge } from './air.ts';
import { EmissionJudge } from './emission.ts';
import type { Judge } from './judge.ts';
import { NoiseJudge } from './noise.ts';
import { RsdJudge } from './rsd.ts';
import { VaporJudge } from './vapor.ts';
import { WaterJudge } from './water.ts';

export interface Judges {
  byKind: Record<DeviceKind, Judge>;
  /** The families others reach into: the city watch and restores (air), plate history (rsd). */
  air: AirJudge;
  rsd: RsdJudge;
}

/** A fresh set of judges (each holds the state of the devices it has seen). */
export function makeJudges(rsd: RsdSettings = RSD_DEFAULTS): Judges {
  const air = new AirJudge();
  const emission = new EmissionJudge();
  const water = new WaterJudge();
  const remote = new RsdJudge(rsd);
  return {
    air,
    rsd: remote,
    byKind: {
      'air.station': air,
      'air.micro': air,
      'stack.cems': emission,
      'stack.nh3slip': emission,
      fumes: emission,
      voc: emission,
      'water.surface': water,
      'water.source': water,
      'water.outfall': water,
      noise: new NoiseJudge(),
      vapor: new VaporJudge(),
      rsd: remote,
    },
  };
}
