// The SIM-AQ6 air micro-station (docs/standards/modbus.md §6): a plausible model of a station in Hohhot.
// Diurnal temperature and ozone cycles, NO2 rush hours, and in the heating season (15 Oct – 15 Apr)
// higher PM with multi-day episodes. Status bits: a daily 10-minute calibration, rare faults and
// maintenance, and "out of range" when PM2.5 passes the sensor's 1000 µg/m³ range.
import { encodeValue, type ValueSpec } from '../../protocol/modbus-values.ts';
import { hash01, smoothNoise } from '../random.ts';
import * as T from '../../protocol/time.ts';

export interface Aq6Reading {
  pm25: number;
  pm10: number;
  so2: number;
  no2: number;
  co: number;
  o3: number;
  temp: number;
  rh: number;
  pressure: number;
  ws: number;
  wd: number;
  status: number;
}

export const STATUS = { pmFault: 1, gasFault: 2, calibrating: 4, maintenance: 8, outOfRange: 16 } as const;

// The model counts in whole seconds.
const HOUR = T.HOUR / 1000;
const DAY = T.DAY / 1000;
const BEIJING = T.BEIJING_OFFSET_MS / 1000;

function isHeatingSeason(d: Date): boolean {
  const m = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  return m >= 11 || m <= 3 || (m === 10 && day >= 15) || (m === 4 && day <= 15);
}

/** Episode strength in [0, 1] for a city-wide multi-day PM episode (shared by stations of one seed group). */
function episode(tSec: number, group: number): number {
  const day = Math.floor(tSec / DAY);
  let s = 0;
  for (let d = day - 3; d <= day; d++) {
    if (hash01(group, d, 77) < 0.12) {
      const age = (tSec - d * DAY) / DAY; // days since the episode began
      const len = 2 + hash01(group, d, 78) * 2;
      if (age >= 0 && age < len) s = Math.max(s, Math.sin((Math.PI * age) / len));
    }
  }
  return s;
}

export function aq6Reading(seed: number, t: Date): Aq6Reading {
  const tSec = Math.floor(t.getTime() / 1000);
  const local = ((tSec + BEIJING) % DAY) / HOUR; // hour of day, Beijing time
  const dayOfYear = (tSec / DAY) % 365.25;
  const heating = isHeatingSeason(t);
  const n = (period: number, k: number) => smoothNoise(seed * 31 + k, tSec, period);

  const seasonal = -Math.cos(((dayOfYear - 15) / 365.25) * 2 * Math.PI); // -1 mid-January, +1 mid-July
  const temp = 6 + 18 * seasonal + 6 * Math.sin(((local - 9) / 24) * 2 * Math.PI) + 1.5 * n(1800, 1);
  const rh = clamp(45 - 15 * Math.sin(((local - 9) / 24) * 2 * Math.PI) + 10 * n(3600, 2), 5, 99);
  const ep = heating ? episode(tSec, Math.floor(seed / 1000)) : 0;
  const nightTrap = local < 8 || local > 20 ? 1.3 : 1; // shallow boundary layer at night
  const pmBase = (heating ? 55 : 28) * nightTrap * (1 + 0.25 * n(2400, 3)) + 220 * ep;
  const pm25 = Math.max(2, pmBase);
  const pm10 = pm25 * (1.6 + 0.3 * n(5400, 4)) + (heating ? 0 : 15);
  const rush = Math.exp(-((local - 8) ** 2) / 2) + Math.exp(-((local - 18.5) ** 2) / 2);
  const no2 = Math.max(3, 22 + 30 * rush + 20 * ep + 6 * n(1200, 5));
  const so2 = Math.max(2, (heating ? 18 : 7) + 10 * ep + 3 * n(2400, 6));
  const co = Math.max(0.1, (heating ? 1.0 : 0.5) + 1.2 * ep + 0.2 * n(2400, 7));
  const sun = Math.max(0, Math.sin(((local - 6) / 16) * Math.PI));
  const o3 = Math.max(2, (heating ? 25 : 60) + (heating ? 30 : 110) * sun ** 2 - 25 * ep + 8 * n(1800, 8));
  const pressure = 88.9 + 0.6 * n(6 * HOUR, 9);
  const ws = Math.max(0, 2.5 + 2 * n(900, 10) - 1.5 * ep);
  const wd = (((315 + 90 * n(3 * HOUR, 11)) % 360) + 360) % 360;

  let status = 0;
  const minute = Math.floor(tSec / 60);
  if (Math.floor(local * 6) === 18 + (seed % 6)) status |= STATUS.calibrating; // 10 min around 03:00
  if (hash01(seed, minute, 1) < 0.002) status |= STATUS.pmFault;
  if (hash01(seed, minute, 2) < 0.001) status |= STATUS.gasFault;
  if (hash01(seed, Math.floor(tSec / DAY), 3) < 0.02 && Math.floor(local) === 10) status |= STATUS.maintenance;
  if (pm25 > 1000) status |= STATUS.outOfRange;

  return {
    pm25: Math.round(Math.min(pm25, 1000)),
    pm10: Math.round(Math.min(pm10, 2000)),
    so2: Math.round(so2),
    no2: Math.round(no2),
    co: round(co, 2),
    o3: Math.round(o3),
    temp: round(temp, 1),
    rh: round(rh, 1),
    pressure: round(pressure, 1),
    ws: round(ws, 1),
    wd: Math.round(wd),
    status,
  };
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** The register layout of SIM-AQ6 (docs/standards/modbus.md §6). */
export const AQ6_LAYOUT: readonly { name: keyof Aq6Reading; addr: number; spec: ValueSpec }[] = [
  { name: 'pm25', addr: 0x00, spec: { type: 'uint16' } },
  { name: 'pm10', addr: 0x01, spec: { type: 'uint16' } },
  { name: 'so2', addr: 0x02, spec: { type: 'uint16' } },
  { name: 'no2', addr: 0x03, spec: { type: 'uint16' } },
  { name: 'co', addr: 0x04, spec: { type: 'uint16', scale: 0.01 } },
  { name: 'o3', addr: 0x05, spec: { type: 'uint16' } },
  { name: 'temp', addr: 0x06, spec: { type: 'int16', scale: 0.1 } },
  { name: 'rh', addr: 0x07, spec: { type: 'uint16', scale: 0.1 } },
  { name: 'pressure', addr: 0x08, spec: { type: 'uint16', scale: 0.1 } },
  { name: 'ws', addr: 0x09, spec: { type: 'uint16', scale: 0.1 } },
  { name: 'wd', addr: 0x0a, spec: { type: 'uint16' } },
  { name: 'status', addr: 0x0b, spec: { type: 'uint16' } },
];

export const AQ6_FLOAT_BASE = 0x100;

/** Register bank image: 0x0000–0x000B integers, 0x0100–0x0115 float32 ABCD mirror. */
export function aq6Registers(r: Aq6Reading): Map<number, number> {
  const regs = new Map<number, number>();
  for (const { name, addr, spec } of AQ6_LAYOUT) {
    regs.set(addr, encodeValue(r[name], spec)[0]!);
    if (name === 'status') continue;
    const [hi, lo] = encodeValue(r[name], { type: 'float32', order: 'ABCD' });
    regs.set(AQ6_FLOAT_BASE + addr * 2, hi!);
    regs.set(AQ6_FLOAT_BASE + addr * 2 + 1, lo!);
  }
  return regs;
}
