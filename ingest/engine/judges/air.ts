// Air stations and micro-stations: hourly means from samples (../air.ts), the hourly AQI of the edition
// in force against the heavy-pollution trigger, hourly means against the GB 3095 1-hour limits of the
// observation time, the rolling 24-h AQI behind the hohhot-2019 warning levels, and daily AQI over 150.
// The city watch (../city.ts) feeds whole hours of its own series through `seriesHour`.
import type { SampleRecord } from '../../../protocol/envelope.ts';
import { encodePoint } from '../../../protocol/line-protocol.ts';
import type { LiveAqi, LiveReading } from '../../../protocol/messages.ts';
import type { AqiResult } from '../../../standards/aqi.ts';
import { gb3095Limit, limitSetAt } from '../../../standards/gb3095.ts';
import { WARNING_LIFT_HOURS, WARNING_RANK, warningLevel } from '../../../standards/warnings.ts';
import { AIR_POLLUTANTS, AirState, type AirPollutant, type HourClosed } from '../air.ts';
import { plain, type Findings, type Judge, type JudgeCall } from './judge.ts';
import { DAY, HOUR } from '../../../protocol/time.ts';

/** An air device's open hour is normally the newest one; a gateway catching up may still be in an older one. */
const REPLAY_HOURS = 3;
/** Hohhot heavy-pollution trigger: an hourly AQI above 200 at a station. */
export const AQI_HOUR_TRIGGER = 200;

type LatestAqi = AqiResult & {
  hourStart: number;
  aqi24: number | null;
  warning: string;
  means: Record<string, number | null>;
};
type Means = Record<AirPollutant, number | null>;

export class AirJudge implements Judge {
  private state = new Map<string, AirState>();
  private latest = new Map<string, LatestAqi>();
  /** Hourly rolling 24-h AQI per device, newest last (five days: enough for every warning rule). */
  private rolling = new Map<string, number[]>();
  /** Devices (and their gateways) with late samples in hours already closed. */
  private late = new Map<string, string>();

  judge(c: JudgeCall): void {
    const { r } = c;
    if ((r.agg ?? 'rt') === 'rt') {
      const st = this.of(r.dev);
      for (const h of st.add(r)) {
        this.onHour(c, h);
        c.closedPeriod = true;
      }
      if (st.lateSamples) this.late.set(r.dev, c.gw);
    }
  }

  liveState(dev: string): Pick<LiveReading, 'aqi'> {
    const aqi = this.liveAqi(dev);
    return aqi ? { aqi } : {};
  }

  replayFrom(newest: number): number {
    return Math.floor(newest / HOUR) * HOUR - (REPLAY_HOURS - 1) * HOUR;
  }

  replay(r: SampleRecord): void {
    this.of(r.dev).add(r);
  }

  openPeriod(dev: string): { start: number; end: number } | undefined {
    const start = this.state.get(dev)?.openHour;
    return start === undefined ? undefined : { start, end: start + HOUR };
  }

  /**
   * Writes again the aqi rows of hours that late samples went into (a gateway sends its newest data
   * before its backlog): hourly means, AQI and rolling 24-h AQI of those hours and the ones after, and
   * the daily AQI of days they end. Alarms and warning levels stay as judged when the hours closed.
   */
  flush(): string[] {
    if (this.late.size === 0) return [];
    const points: string[] = [];
    for (const [dev, gw] of this.late) {
      for (const h of this.of(dev).revise()) {
        points.push(
          aqiPoint(dev, 'hour', h.hourStart, h.aqi, {
            aqi_24h: h.rolling.aqi ?? undefined,
            ...(gw ? { gw } : {}),
            ...cMeans(h),
          }),
        );
        if (h.day) points.push(aqiPoint(dev, 'day', h.day.dayStart, h.day.aqi));
      }
    }
    this.late.clear();
    return points;
  }

  /** Adds a whole hour to a series with no samples of its own (a city). */
  seriesHour(f: Findings, dev: string, start: number, means: Means, extra: Record<string, number>): void {
    this.series(f, dev, this.of(dev).addHour(start, means), extra);
  }

  /** The AQI block of a live/ message. `c` holds the hour's valid means (a city watch averages them). */
  liveAqi(dev: string): LiveAqi | undefined {
    const a = this.latest.get(dev);
    if (!a) return undefined;
    return {
      hour: a.hourStart,
      aqi: a.published,
      value: a.aqi,
      level: a.level?.level,
      category: a.level?.zh,
      colour: a.level?.rgb,
      primary: a.primary,
      aqi_24h: a.aqi24,
      warning: a.warning,
      c: Object.fromEntries(Object.entries(a.means).filter((e): e is [string, number] => e[1] !== null)),
    };
  }

  /**
   * Rebuilds a device's rolling state from its recent hourly aqi rows (oldest first): the hourly means
   * behind the 24-h and 8-h windows, and the rolling 24-h AQI series behind the warning levels.
   */
  restore(dev: string, rows: { hourStart: number; means: Partial<Means>; aqi24: number | null }[]): void {
    this.of(dev).restore(
      rows.map((r) => ({
        start: r.hourStart,
        means: Object.fromEntries(AIR_POLLUTANTS.map((p) => [p, r.means[p] ?? null])) as Means,
      })),
    );
    // The warning series counts consecutive hours: keep the unbroken run that ends with the last row.
    const series: number[] = [];
    let prev: number | undefined;
    for (const r of rows) {
      if (r.aqi24 === null || (prev !== undefined && r.hourStart !== prev + HOUR)) series.length = 0;
      if (r.aqi24 !== null) series.push(r.aqi24);
      prev = r.hourStart;
    }
    this.rolling.set(dev, series.slice(-120));
  }

  private onHour(c: JudgeCall, h: HourClosed): void {
    // gw says which worker owns the device after a restart (the shard of its gateway).
    this.series(c, c.r.dev, h, c.gw ? { gw: c.gw } : {});
    const set = limitSetAt(h.hourStart);
    for (const p of ['so2', 'no2', 'co', 'o3'] as const) {
      const v = h.means[p];
      const limit = c.s.limits?.[p] ?? gb3095Limit(p, '1h', c.s.grade ?? 2, set);
      if (v !== null && limit !== undefined) c.observe(plain('gb3095-1h', p, limit), h.hourStart, v);
    }
    if (h.aqi.aqi !== null) c.observe(plain('aqi-hour', 'aqi', AQI_HOUR_TRIGGER), h.hourStart, h.aqi.aqi);
  }

  /** What every air series yields when an hour closes: AQI rows, warning levels, days over 150. */
  private series(f: Findings, dev: string, h: HourClosed, extra: Record<string, number | string>): void {
    // Warning levels (hohhot-2019) from the observed rolling 24-h AQI; yellow and above is an alarm
    // that lifts after 36 h below yellow.
    const series = this.rolling.get(dev) ?? [];
    if (h.rolling.aqi !== null) series.push(h.rolling.aqi);
    else series.length = 0; // a gap breaks every "for N hours" run
    if (series.length > 120) series.shift();
    this.rolling.set(dev, series);
    const level = warningLevel(series);
    f.observe(
      plain('hohhot-2019', 'warning', WARNING_RANK['pre-warning'], 0, WARNING_LIFT_HOURS * HOUR),
      h.hourStart,
      WARNING_RANK[level],
    );
    // The hourly means go with the row (c_*), so a restarted worker can rebuild its rolling windows.
    f.points.push(
      aqiPoint(dev, 'hour', h.hourStart, h.aqi, {
        aqi_24h: h.rolling.aqi ?? undefined,
        warning: level,
        ...extra,
        ...cMeans(h),
      }),
    );
    if (h.aqi.aqi !== null)
      this.latest.set(dev, { ...h.aqi, hourStart: h.hourStart, aqi24: h.rolling.aqi, warning: level, means: h.means });
    if (h.day) {
      f.points.push(aqiPoint(dev, 'day', h.day.dayStart, h.day.aqi));
      // Daily AQI above 150 on consecutive days (the plan's sustained-pollution trigger).
      if (h.day.aqi.aqi !== null) f.observe(plain('aqi-day', 'aqi', 150, DAY), h.day.dayStart, h.day.aqi.aqi);
    }
  }

  private of(dev: string): AirState {
    let st = this.state.get(dev);
    if (!st) this.state.set(dev, (st = new AirState()));
    return st;
  }
}

/** An hour's valid means as `c_*` fields. */
function cMeans(h: HourClosed): Record<string, number> {
  return Object.fromEntries(
    Object.entries(h.means)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [`c_${k}`, v!]),
  );
}

function aqiPoint(
  dev: string,
  period: 'hour' | 'day',
  ts: number,
  a: AqiResult,
  extra: Record<string, number | string | undefined> = {},
): string {
  const fields: Record<string, number | string | boolean> = { edition: a.edition, complete: a.complete };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) fields[k] = v;
  if (a.aqi !== null) {
    fields.aqi = a.aqi;
    fields.level = a.level!.level;
    fields.category = a.level!.zh;
    fields.primary = a.primary.join(',');
  }
  if (a.published !== null) fields.published = String(a.published);
  if (a.exceeding) fields.exceeding = a.exceeding.join(',');
  for (const [k, v] of Object.entries(a.iaqi)) fields[`iaqi_${k.toLowerCase().replace('.', '')}`] = v;
  return encodePoint({ measurement: 'aqi', tags: { dev, period }, fields, ts });
}
