// The city-level watch: one process (an ingest worker started with --city) follows every air device's
// hourly means on live/ and builds the city's own hourly series from them: the arithmetic mean of the
// stations' hourly means (national stations, air.station, when the city has any; otherwise every air
// device), the city's hourly and rolling 24-h AQI, its heavy-pollution warning level (hohhot-2019)
// and consecutive days over 150, as the `city-{name}` series of the aqi measurement, live/city/{name}
// and alert/city-{name}. Averaging stations is the usual city evaluation (HJ 663), which the domain
// reference does not quote: treat the method as a configurable convention.
import { decodeLive, type LiveReading } from '../../protocol/messages.ts';
import type { Topics } from '../../protocol/topics.ts';
import { AIR_POLLUTANTS, type AirPollutant } from './air.ts';
import { Engine, type Output } from './engine.ts';
import { HOUR } from '../../protocol/time.ts';

type Means = Partial<Record<AirPollutant, number>>;

interface Station {
  kind: string;
  latest: number;
  hours: Map<number, { means: Means; aqi: number | null }>;
}

export class CityWatch {
  readonly engine: Engine;
  private stations = new Map<string, Station>();
  /** The next city hour to close. */
  private current = -1;

  constructor(
    readonly name: string,
    topics: Topics,
  ) {
    this.engine = new Engine(topics);
  }

  get dev(): string {
    return `city-${this.name}`;
  }

  /** Feeds one live/ message; returns what closing city hours produced (usually nothing). */
  onLive(payload: string): Output {
    const out: Output = { points: [], messages: [] };
    let msg: LiveReading;
    try {
      msg = decodeLive(payload);
    } catch {
      return out;
    } // not a reading this watch can use
    if (!msg.kind.startsWith('air.') || !msg.aqi) return out;
    const hour = msg.aqi.hour;
    let st = this.stations.get(msg.dev);
    if (!st) this.stations.set(msg.dev, (st = { kind: msg.kind, latest: hour, hours: new Map() }));
    st.hours.set(hour, { means: msg.aqi.c, aqi: typeof msg.aqi.value === 'number' ? msg.aqi.value : null });
    st.latest = Math.max(st.latest, hour);
    for (const h of st.hours.keys()) if (h < hour - 3 * HOUR) st.hours.delete(h);
    if (this.current === -1) this.current = hour;
    // A city hour closes once every station heard from in the last three hours has reported it, or
    // as soon as any station reports a later hour (a silent station does not hold the city back).
    for (let n = 0; n < 48; n++) {
      const pool = this.pool().filter((s) => s.latest >= this.current - 3 * HOUR);
      const allIn = pool.every((s) => s.latest >= this.current);
      const passed = pool.some((s) => s.latest > this.current);
      if (!allIn && !passed) break;
      const r = this.close(this.current, pool);
      out.points.push(...r.points);
      out.messages.push(...r.messages);
      this.current += HOUR;
      if (!passed) break;
    }
    return out;
  }

  private pool(): Station[] {
    const all = [...this.stations.values()];
    const national = all.filter((s) => s.kind === 'air.station');
    return national.length ? national : all;
  }

  private close(start: number, pool: Station[]): Output {
    const hours = pool.map((s) => s.hours.get(start)).filter((x) => x !== undefined);
    const means = Object.fromEntries(
      AIR_POLLUTANTS.map((p) => {
        const v = hours.map((h) => h.means[p]).filter((x): x is number => typeof x === 'number');
        return [p, v.length ? v.reduce((a, b) => a + b, 0) / v.length : null];
      }),
    ) as Record<AirPollutant, number | null>;
    const over200 = hours.filter((h) => h.aqi !== null && h.aqi > 200).length;
    return this.engine.seriesHour(this.dev, 'city', start, means, {
      stations: hours.length,
      stations_over_200: over200,
    });
  }
}
