// What a restarted worker reads back from the database before data flows, so a restart changes no
// judgement: the rolling air windows (from hourly aqi rows), the samples of each air device's open
// hour, each noise point's open day or night period, each VOC device's open hour and each vapour device's
// last days (replayed into their running state), and the remote-sensing
// plate history. Open alarms come back from the broker instead (retained alert/ messages).
//
// Every window is measured back from the newest row stored, not from this machine's clock: the data
// has its own clock (sample time), and a worker restarted after an outage, or on a host whose clock is
// off, must rebuild the state the data left. No query uses InfluxQL's now().
import type { SampleRecord } from '../protocol/envelope.ts';
import { isDeviceKind } from '../protocol/kinds.ts';
import { log } from '../protocol/log.ts';
import { AIR_POLLUTANTS } from './engine/air.ts';
import type { Capture } from './capture.ts';
import type { Engine } from './engine/engine.ts';
import type { InfluxQL, Series } from './sinks/influxql.ts';
import { HOUR } from '../protocol/time.ts';

export interface RestoreContext {
  db: InfluxQL;
  /** The engine that owns a device's state (the city watch's for the city series), or none when another worker does. */
  engineFor: (dev: string, gw: string | undefined) => Engine | null;
  /** The worker's own engine (plates are shared by all of its devices). */
  engine: Engine;
  /** The worker's data-capture counts. */
  capture?: Capture;
  /** Whether to read the plate history (not again for shards taken over: it is the worker's, not a shard's). */
  plates?: boolean;
}

/** What the database gave back. */
export interface DatabaseRestore {
  airWindows: number;
  replayedDevices: number;
  replayedSamples: number;
  plates: number;
  captureHours: number;
}

/** Runs every restore; each one that fails is logged and leaves its state empty. */
export async function restoreFromDatabase(c: RestoreContext): Promise<DatabaseRestore> {
  const got: DatabaseRestore = { airWindows: 0, replayedDevices: 0, replayedSamples: 0, plates: 0, captureHours: 0 };
  if (!c.db.available) {
    log('warn', 'the database has no InfluxQL /query: rolling windows, open periods and plate history start empty');
    return got;
  }
  const step = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      // A database that does not exist yet holds nothing to restore (the sink creates it on the first write).
      if (/database not found/.test((e as Error).message)) return;
      log('warn', `cannot restore ${what} from the database; it starts empty`, { error: (e as Error).message });
    }
  };
  await step('air-quality windows', async () => {
    got.airWindows = await restoreAirWindows(c);
  });
  await step('open hours and vapour days', async () => {
    [got.replayedDevices, got.replayedSamples] = await replayOpenPeriods(c);
  });
  if (c.plates !== false)
    await step('the remote-sensing plate history', async () => {
      got.plates = await restorePlates(c);
    });
  await step('the data-capture minutes', async () => {
    got.captureHours = await restoreCapture(c);
  });
  return got;
}

/**
 * The devices of the gateways `wanted` picks and each one's gateway, from the series keys (every
 * measurement carries `dev` and `gw` tags): which devices a shard taken over holds. Empty when the
 * database has no InfluxQL.
 */
export async function devicesOfGateways(db: InfluxQL, wanted: (gw: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!db.available) return out;
  try {
    await db.each('SHOW SERIES', (s) => {
      for (const row of s.values) {
        const tags = seriesTags(String(row[0]));
        if (tags.dev && tags.gw && wanted(tags.gw)) out.set(tags.dev, tags.gw);
      }
    });
  } catch (e) {
    if (!/database not found/.test((e as Error).message))
      log('warn', 'cannot list the devices of the shards taken over', { error: (e as Error).message });
  }
  return out;
}

/**
 * Open alarms of the given devices from their newest `alert` rows (one per device, rule and field):
 * a row still `open` or `update` is an alarm nobody has closed. The retained alert/{dev} says the same,
 * but a broker keeping its state in Redis streams retained messages after the SUBACK, so a read of
 * them can end before all have come; the database is the second source. Returns the alarms restored.
 */
export async function restoreOpenAlarms(db: InfluxQL, devices: string[], engine: Engine): Promise<number> {
  if (!db.available || !devices.length) return 0;
  const ids = devices.map((d) => d.replace(/[.]/g, '\\.')).join('|');
  let restored = 0;
  await db.each(
    `SELECT state, value, "limit", peak, since FROM alert WHERE dev =~ /^(?:${ids})$/ GROUP BY "dev", "rule", "field" ORDER BY time DESC LIMIT 1`,
    (s) => {
      const { dev, rule, field } = s.tags ?? {};
      const row = s.values[0];
      if (!dev || !rule || !field || !row) return;
      const col = (name: string) => row[s.columns.indexOf(name)];
      const [state, value, limit, peak, since] = ['state', 'value', 'limit', 'peak', 'since'].map(col);
      if ((state !== 'open' && state !== 'update') || typeof value !== 'number' || typeof limit !== 'number') return;
      if (typeof peak !== 'number' || typeof since !== 'number') return;
      const at = row[0] as number;
      // An update row does not say when its alarm opened: its start stands in (it only labels the alarm).
      engine.alarms.restore(dev, {
        rule,
        field,
        since,
        limit,
        peak,
        value,
        lastTs: at,
        openedAt: state === 'open' ? at : since,
        openValue: value,
      });
      restored++;
    },
  );
  if (restored) log('info', 'open alarms restored from the database', { alarms: restored });
  return restored;
}

/** The tags of a series key (`air,dev=a,gw=b`); ids never hold the escaped characters. */
function seriesTags(key: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of key.split(/(?<!\\),/).slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) tags[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return tags;
}

/** Hourly means and rolling 24-h AQI of the last five days, from the aqi rows. Returns the series restored. */
async function restoreAirWindows(c: RestoreContext): Promise<number> {
  let devices = 0;
  const newest = await newestTime(c.db, 'aqi', `period = 'hour'`);
  if (newest === null) return 0;
  for (const s of await c.db.all(
    `SELECT * FROM aqi WHERE period = 'hour' AND time > ${newest - 121 * HOUR}ms GROUP BY dev`,
  )) {
    const dev = s.tags?.dev;
    const engine = dev ? c.engineFor(dev, lastString(s, 'gw')) : null;
    if (!dev || !engine) continue;
    const num = (row: unknown[], name: string) => {
      const i = s.columns.indexOf(name);
      return i >= 0 && typeof row[i] === 'number' ? (row[i] as number) : null;
    };
    engine.restoreAir(
      dev,
      s.values.map((row) => ({
        hourStart: row[0] as number,
        means: Object.fromEntries(
          AIR_POLLUTANTS.flatMap((p) => {
            const v = num(row, `c_${p}`);
            return v === null ? [] : [[p, v]];
          }),
        ),
        aqi24: num(row, 'aqi_24h'),
      })),
    );
    devices++;
  }
  if (devices) log('info', 'air-quality windows restored', { devices });
  return devices;
}

/**
 * Replays stored samples into the running state of the families that keep one (each air device's open
 * hour, a noise point's open period, the open hour of emission profiles judged on hourly means, each
 * vapour device's last eight Beijing days: see each judge's replayFrom). Hours already
 * closed, restored from aqi rows, ignore their samples. Nothing is judged or published again.
 */
async function replayOpenPeriods(c: RestoreContext): Promise<[devices: number, samples: number]> {
  let samples = 0;
  const devices = new Set<string>();
  const engines = new Set<Engine>();
  for (const { measurement, judge } of c.engine.replayable()) {
    const newest = await newestTime(c.db, measurement);
    if (newest === null) continue;
    await c.db.each(`SELECT * FROM ${measurement} WHERE time >= ${judge.replayFrom!(newest)}ms GROUP BY *`, (s) => {
      const t = s.tags ?? {};
      const engine = t.dev ? c.engineFor(t.dev, t.gw) : null;
      if (!engine || t.agg || !isDeviceKind(t.kind)) return; // interval data keeps no running state
      for (const row of s.values) engine.replay(recordOf(s, row, t.dev!, t.kind));
      engines.add(engine);
      samples += s.values.length;
      devices.add(t.dev!);
    });
  }
  for (const e of engines) e.replayDone();
  if (samples) log('info', 'open hours and vapour days replayed', { devices: devices.size, samples });
  return [devices.size, samples];
}

/** Over-limit passes of the repeat window (every worker reads every plate: vehicles pass sites anywhere). */
async function restorePlates(c: RestoreContext): Promise<number> {
  const passes: { plate: string; ts: number }[] = [];
  const newest = await newestTime(c.db, 'alert', `rule = 'rsd-pass'`);
  if (newest === null) return 0;
  await c.db.each(
    `SELECT plate FROM alert WHERE rule = 'rsd-pass' AND time > ${newest - Math.ceil(c.engine.rsd.windowDays * 24) * HOUR}ms`,
    (s) => {
      for (const row of s.values) if (typeof row[1] === 'string') passes.push({ ts: row[0] as number, plate: row[1] });
    },
  );
  c.engine.restorePlates(passes);
  if (passes.length)
    log('info', 'remote-sensing plate history restored', {
      passes: passes.length,
      plates: c.engine.judges.rsd.plates.size,
    });
  return passes.length;
}

/** The time of the newest row of a measurement, or null when it has none. */
/**
 * The minute marks of each device's newest 48 hours (the open hour goes on where it was; a day that late
 * data changes is counted again from all its hours). Returns the device-hours restored.
 */
/** Hours of minute marks read back per device: the two days late data may still change. */
const CAPTURE_HOURS = 48;

async function restoreCapture(c: RestoreContext): Promise<number> {
  if (!c.capture) return 0;
  let hours = 0;
  // Each device's own newest hours (LIMIT applies per series): devices run on their own clocks.
  for (const s of await c.db.all(
    `SELECT minutes, kind, gw FROM capture WHERE period = 'hour' GROUP BY dev ORDER BY time DESC LIMIT ${CAPTURE_HOURS}`,
  )) {
    const dev = s.tags?.dev;
    // Newest first: the first row says which gateway the device reports through now.
    const g = s.values[0]?.[s.columns.indexOf('gw')];
    const gw = typeof g === 'string' ? g : undefined;
    if (!dev || !c.engineFor(dev, gw)) continue;
    const [minutes, kind] = [s.columns.indexOf('minutes'), s.columns.indexOf('kind')];
    // A full page may have older hours before it: those are not held, and their days not rewritten.
    const complete = s.values.length < CAPTURE_HOURS;
    for (const row of s.values) {
      if (typeof row[minutes] !== 'string' || typeof row[kind] !== 'string') continue;
      c.capture.restore(dev, row[kind] as string, gw ?? '', row[0] as number, row[minutes] as string, complete);
      hours++;
    }
  }
  return hours;
}

async function newestTime(db: InfluxQL, measurement: string, where?: string): Promise<number | null> {
  // A field every row of the measurement has: aqi rows edition, alert rows state, samples seq.
  const field = measurement === 'aqi' ? 'edition' : measurement === 'alert' ? 'state' : 'seq';
  const [s] = await db.all(`SELECT last(${field}) FROM ${measurement}${where ? ` WHERE ${where}` : ''}`);
  const t = s?.values[0]?.[0];
  return typeof t === 'number' ? t : null;
}

/** A stored row as the record it was written from (schema.ts): numbers are readings, `*_flag` flags, other text attributes. */
export function recordOf(s: Series, row: unknown[], dev: string, kind: SampleRecord['kind']): SampleRecord {
  const r: SampleRecord = { dev, kind, ts: row[0] as number, m: {} };
  s.columns.forEach((col, i) => {
    const v = row[i];
    if (i === 0 || v === null || v === undefined || col === 'seq') return;
    if (typeof v === 'number') r.m[col] = v;
    else if (typeof v === 'string' && col.endsWith('_flag')) (r.f ??= {})[col.slice(0, -5)] = v;
    else if (typeof v === 'string') (r.a ??= {})[col] = v;
  });
  return r;
}

function lastString(s: Series, col: string): string | undefined {
  const v = s.values[s.values.length - 1]?.[s.columns.indexOf(col)];
  return typeof v === 'string' ? v : undefined;
}
