// Device classes (docs/protocol.md §3.3) and the InfluxDB measurement each one writes to (docs/protocol.md §7.2).

export const DEVICE_KINDS = {
  'air.station': 'air',
  'air.micro': 'air',
  'stack.cems': 'stack',
  'stack.nh3slip': 'nh3slip',
  fumes: 'fumes',
  vapor: 'vapor',
  voc: 'voc',
  rsd: 'rsd',
  'water.surface': 'water',
  'water.source': 'water',
  'water.outfall': 'water',
  noise: 'noise',
} as const;

export type DeviceKind = keyof typeof DEVICE_KINDS;

export function isDeviceKind(k: unknown): k is DeviceKind {
  return typeof k === 'string' && Object.hasOwn(DEVICE_KINDS, k);
}

export function measurementOf(kind: DeviceKind): string {
  return DEVICE_KINDS[kind];
}

/**
 * Kinds whose records are events (one per passing vehicle) rather than samples on a clock: two of one
 * device may share a millisecond, so their points get offsets within it (docs/protocol.md §7.1).
 */
const EVENT_KINDS: ReadonlySet<DeviceKind> = new Set<DeviceKind>(['rsd']);

export function isEventKind(kind: DeviceKind): boolean {
  return EVENT_KINDS.has(kind);
}
