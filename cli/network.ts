// What `qingcheng stack` simulates: the miniature network of `npm start` (a few of every device class),
// or a named plan (`--network hohhot`, the counts of the Hohhot 14th Five-Year eco-environment plan),
// scaled with `--scale`; and how its devices are shared among the gateways.
import { fieldSites, LOGGER_CLASSES, type FieldSite, type LoggerClass } from '../simulators/field-sites.ts';
import type { RsdSiteOptions } from '../simulators/models/rsd.ts';
import type { VaporSite } from '../simulators/models/vapor.ts';
import { UsageError } from './args.ts';

export interface NetworkCounts {
  /** SIM-AQ6 micro-stations polled over Modbus TCP. */
  micro: number;
  /** SIM-CEMS analyzers polled over Modbus TCP. */
  cemsModbus: number;
  rsd: number;
  /** Vapour-recovery stations and the nozzles each has. */
  vapor: number;
  nozzles: number;
  /** HJ 212 data loggers by class. */
  loggers: Record<LoggerClass, number>;
  /** Enterprises the HJ 212 smokestacks belong to (each enterprise's stacks report to one gateway). */
  enterprises: number;
}

const NO_LOGGERS = Object.fromEntries(Object.keys(LOGGER_CLASSES).map((c) => [c, 0])) as Record<LoggerClass, number>;

/** The Hohhot plan: 15 national stations, 57 micro-stations, 345 CEMS sets at 130 enterprises, … */
export const HOHHOT: NetworkCounts = {
  micro: 57,
  cemsModbus: 0,
  rsd: 30,
  vapor: 158,
  nozzles: 4,
  enterprises: 130,
  loggers: {
    ...NO_LOGGERS,
    'air.station': 15,
    'stack.cems': 345,
    fumes: 583,
    'stack.nh3slip': 50,
    voc: 109,
    'water.surface': 14,
    'water.source': 37,
    noise: 224,
  },
};

/** The miniature network of `npm start`: the given air counts and `field` of every other class. */
export function miniNetwork(o: {
  stations: number;
  cems: number;
  rsd: number;
  hj212Stations: number;
  field: number;
}): NetworkCounts {
  const f = o.field;
  return {
    micro: o.stations,
    cemsModbus: o.cems,
    rsd: o.rsd,
    vapor: f,
    nozzles: 2,
    enterprises: 1,
    loggers: {
      ...NO_LOGGERS,
      'air.station': o.hj212Stations,
      'stack.cems': 0,
      fumes: 2 * f,
      'stack.nh3slip': f,
      voc: f,
      'water.surface': f,
      'water.source': f,
      'water.outfall': f,
      noise: f,
    },
  };
}

export function networkNamed(name: string): NetworkCounts {
  if (name === 'hohhot') return HOHHOT;
  throw new UsageError(`--network: unknown network "${name}"; networks are: hohhot`);
}

/** Every count times `scale`, rounded, keeping at least one of each class the plan has. */
export function scaled(n: NetworkCounts, scale: number): NetworkCounts {
  const s = (x: number) => (x === 0 ? 0 : Math.max(1, Math.round(x * scale)));
  return {
    micro: s(n.micro),
    cemsModbus: s(n.cemsModbus),
    rsd: s(n.rsd),
    vapor: s(n.vapor),
    nozzles: n.nozzles,
    enterprises: Math.min(s(n.enterprises), s(n.loggers['stack.cems']) || 1),
    loggers: Object.fromEntries(Object.entries(n.loggers).map(([c, x]) => [c, s(x)])) as Record<LoggerClass, number>,
  };
}

/** Seeds per class, far apart, so no two devices of a network share one. */
export const SEED_BASE: Record<LoggerClass, number> = {
  'air.station': 3000,
  'stack.cems': 20_000,
  'stack.nh3slip': 30_000,
  fumes: 40_000,
  voc: 50_000,
  'water.surface': 60_000,
  'water.source': 70_000,
  'water.outfall': 80_000,
  noise: 90_000,
};

/** The HJ 212 loggers of a network, class by class. */
export function loggersOf(n: NetworkCounts): FieldSite[] {
  return (Object.keys(LOGGER_CLASSES) as LoggerClass[]).flatMap((c) => fieldSites(c, n.loggers[c], SEED_BASE[c]));
}

export function vaporSitesOf(n: Pick<NetworkCounts, 'vapor' | 'nozzles'>): VaporSite[] {
  return Array.from({ length: n.vapor }, (_, i) => ({
    dev: `vr-${String(i + 1).padStart(4, '0')}`,
    seed: 100_000 + i,
    nozzles: n.nozzles,
  }));
}

export function rsdSitesOf(n: NetworkCounts): RsdSiteOptions[] {
  return Array.from({ length: n.rsd }, (_, i) => ({ dev: `rsd-${String(i + 1).padStart(4, '0')}`, seed: i + 1 }));
}

/**
 * The gateway (0-based) a logger reports to: an enterprise's smokestacks together (stack `i` belongs to
 * enterprise `i mod enterprises`), every other logger in turn.
 */
export function gatewayOfLogger(site: FieldSite, index: number, n: NetworkCounts, gateways: number): number {
  if (site.cls === 'stack.cems') return (index % Math.max(1, n.enterprises)) % gateways;
  return index % gateways;
}

/** One line of what a network runs, class by class. */
export function describeCounts(n: NetworkCounts): string {
  const l = n.loggers;
  const parts: [number, string, string][] = [
    [l['air.station'], 'national air station', 'national air stations'],
    [n.micro, 'micro-station', 'micro-stations'],
    [l['stack.cems'], `CEMS set at ${n.enterprises} enterprise(s)`, `CEMS sets at ${n.enterprises} enterprises`],
    [n.cemsModbus, 'SIM-CEMS analyzer (Modbus)', 'SIM-CEMS analyzers (Modbus)'],
    [l.fumes, 'catering-fume monitor', 'catering-fume monitors'],
    [l['stack.nh3slip'], 'ammonia-slip analyser', 'ammonia-slip analysers'],
    [
      n.vapor,
      `vapour-recovery system (${n.nozzles} nozzles)`,
      `vapour-recovery systems (${n.vapor * n.nozzles} nozzles)`,
    ],
    [l.voc, 'auto-repair VOC monitor', 'auto-repair VOC monitors'],
    [n.rsd, 'remote-sensing set', 'remote-sensing sets'],
    [l['water.surface'], 'river section', 'river sections'],
    [l['water.source'], 'drinking-water source', 'drinking-water sources'],
    [l['water.outfall'], 'outfall', 'outfalls'],
    [l.noise, 'noise point', 'noise points'],
  ];
  return parts
    .filter(([k]) => k > 0)
    .map(([k, one, many]) => `${k} ${k === 1 ? one : many}`)
    .join(', ');
}
