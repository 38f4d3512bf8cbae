// The HJ 212 data loggers of every device class as deployed in the field: which model a class runs,
// its system code (ST), its real-time interval, the interval data it uploads at each boundary, and the
// platform codes of what HJ 212-2017 names no code for. Each site is a pure function of its seed and the
// clock; `excursion` switches the model's forced excursion on for as long as it is set.
import type { DeviceKind } from '../protocol/kinds.ts';
import { toReferenceO2 } from '../standards/emission.ts';
import { DAY, HOUR, MINUTE } from '../protocol/time.ts';
import type { Aggregate, Factors } from './hj212-logger.ts';
import { intervalFactors, rtFactors, type Codes } from './hj212-factors.ts';
import { aq6Reading, STATUS } from './models/aq6.ts';
import { cemsReading, CEMS_FIELDS } from './models/cems.ts';
import { fumesReading } from './models/fumes.ts';
import { nh3SlipReading } from './models/nh3slip.ts';
import { noiseReading } from './models/noise.ts';
import { outfallReading } from './models/outfall.ts';
import { round, type Reading } from './models/reading.ts';
import { vocReading } from './models/voc.ts';
import { waterReading } from './models/water.ts';

/** The logger classes, by the name `--network` counts and the stack prints. */
export type LoggerClass =
  | 'air.station'
  | 'stack.cems'
  | 'stack.nh3slip'
  | 'fumes'
  | 'voc'
  | 'water.surface'
  | 'water.source'
  | 'water.outfall'
  | 'noise';

/**
 * Catering fumes have no HJ 212-2017 code; platforms name their own. This one follows a platform seen
 * in the field (v4x10 fumes); a gateway maps it back with the device's `codes`.
 */
export const FUMES_CODES: Codes = { fumes: 'v4x10' };

interface ClassSpec {
  kind: DeviceKind;
  /** Device id prefix and MN class letter. */
  prefix: string;
  letter: string;
  st: string;
  /** Seconds between real-time uploads (HJ 212 RtdInterval). */
  rtS: number;
  /** Interval data uploaded at boundaries: CN and interval. */
  intervals: [Aggregate['cn'], number][];
  codes?: Codes;
  reading: (seed: number, t: Date, excursion: boolean) => Reading;
}

const STACK_INTERVALS: ClassSpec['intervals'] = [
  ['2051', 10 * MINUTE],
  ['2061', HOUR],
  ['2031', DAY],
];
const QUALITY_INTERVALS: ClassSpec['intervals'] = [
  ['2061', HOUR],
  ['2031', DAY],
];

export const LOGGER_CLASSES: Record<LoggerClass, ClassSpec> = {
  'air.station': {
    kind: 'air.station',
    prefix: 'st',
    letter: 'A',
    st: '22',
    rtS: 60,
    intervals: QUALITY_INTERVALS,
    reading: (s, t) => stationReading(s, t),
  },
  'stack.cems': {
    kind: 'stack.cems',
    prefix: 'cems-h',
    letter: 'C',
    st: '31',
    rtS: 30,
    intervals: STACK_INTERVALS,
    reading: (s, t, x) => cemsAt(s, t, x),
  },
  'stack.nh3slip': {
    kind: 'stack.nh3slip',
    prefix: 'nh3',
    letter: 'N',
    st: '31',
    rtS: 30,
    intervals: STACK_INTERVALS,
    reading: (s, t, x) => nh3SlipReading(s, t, { excursion: x }),
  },
  fumes: {
    kind: 'fumes',
    prefix: 'fu',
    letter: 'F',
    st: '31',
    rtS: 60,
    intervals: STACK_INTERVALS,
    codes: FUMES_CODES,
    reading: (s, t, x) => fumesReading(s, t, { excursion: x }),
  },
  voc: {
    kind: 'voc',
    prefix: 'voc',
    letter: 'V',
    st: '27',
    rtS: 60,
    intervals: STACK_INTERVALS,
    reading: (s, t, x) => vocReading(s, t, { excursion: x }),
  },
  'water.surface': {
    kind: 'water.surface',
    prefix: 'ws',
    letter: 'W',
    st: '21',
    rtS: 60,
    intervals: QUALITY_INTERVALS,
    reading: (s, t, x) => waterReading(s, t, { excursion: x }),
  },
  'water.source': {
    kind: 'water.source',
    prefix: 'wsrc',
    letter: 'S',
    st: '21',
    rtS: 60,
    intervals: QUALITY_INTERVALS,
    reading: (s, t, x) => waterReading(s, t, { source: true, excursion: x }),
  },
  'water.outfall': {
    kind: 'water.outfall',
    prefix: 'wo',
    letter: 'D',
    st: '32',
    rtS: 60,
    intervals: QUALITY_INTERVALS,
    reading: (s, t, x) => outfallReading(s, t, { excursion: x }),
  },
  noise: {
    kind: 'noise',
    prefix: 'ns',
    letter: 'Z',
    st: '23',
    rtS: 60,
    intervals: QUALITY_INTERVALS,
    reading: (s, t, x) => noiseReading(s, t, { excursion: x }),
  },
};

/** A SIM-AQ6 reading as a national station's analysers give it (flags from its status word). */
function stationReading(seed: number, t: Date): Reading {
  const r = aq6Reading(seed, t);
  const flag = (fault: number) =>
    r.status & STATUS.maintenance ? 'M' : r.status & STATUS.calibrating ? 'C' : r.status & fault ? 'D' : undefined;
  const f: Record<string, string> = {};
  const pm = flag(STATUS.pmFault);
  const gas = flag(STATUS.gasFault);
  for (const k of ['pm25', 'pm10']) if (pm) f[k] = pm;
  for (const k of ['so2', 'no2', 'co', 'o3']) if (gas) f[k] = gas;
  const { status: _status, ...m } = r;
  return { m, f };
}

/** A SIM-CEMS reading with the converted values at 6 % O2 a CEMS logger sends; an excursion pushes SO2 past 35. */
function cemsAt(seed: number, t: Date, excursion: boolean): Reading {
  const r = { ...cemsReading(seed, t), ...(excursion ? { so2: 60 } : {}) };
  const m: Record<string, number> = {};
  for (const k of CEMS_FIELDS) m[k] = r[k];
  for (const k of ['dust', 'so2', 'nox'] as const) m[`${k}_zs`] = round(toReferenceO2(r[k], r.o2, 6), 2);
  return { m, f: {} };
}

export interface FieldSite {
  id: string;
  kind: DeviceKind;
  cls: LoggerClass;
  seed: number;
  mn: string;
  st: string;
  intervalMs: number;
  codes?: Codes;
  /** Force the model's excursion while set. */
  excursion: boolean;
  reading(t: Date): Reading;
  factors(t: Date): Factors;
  aggregates: Aggregate[];
}

/** The MN of a logger: the Hohhot region code 150100, the class letter, and the seed. */
export const mnOf = (letter: string, seed: number): string =>
  `150100${letter}0${seed.toString(16).toUpperCase().padStart(16, '0')}`;

/** `n` loggers of a class, seeds `seed`, `seed + 1`, …; ids number from `first`. */
export function fieldSites(cls: LoggerClass, n: number, seed: number, first = 1): FieldSite[] {
  const c = LOGGER_CLASSES[cls];
  return Array.from({ length: n }, (_, i) => {
    const s = seed + i;
    const site: FieldSite = {
      id: `${c.prefix}-${String(first + i).padStart(4, '0')}`,
      kind: c.kind,
      cls,
      seed: s,
      mn: mnOf(c.letter, s),
      st: c.st,
      intervalMs: c.rtS * 1000,
      ...(c.codes ? { codes: c.codes } : {}),
      excursion: false,
      reading: (t) => c.reading(s, t, site.excursion),
      factors: (t) => rtFactors(site.reading(t), c.codes),
      aggregates: c.intervals.map(([cn, everyMs]) => ({
        cn,
        everyMs,
        // A logger averages its own samples: every real-time interval, every 5 min over a day.
        factors: (from, len) => intervalFactors(site.reading, from, len, Math.max(c.rtS * 1000, len / 288), c.codes),
      })),
    };
    return site;
  });
}
