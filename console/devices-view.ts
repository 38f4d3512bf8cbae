// The device list: every device the console knows of (from the devices file, gateway status, live
// readings and alarms) with its site, kind, gateway, when it was last seen and its state with the
// reason, as far as status/ and live/ tell it; the filters an operator narrows it with; and the page's
// address (the URL hash), so a link reproduces the view. Pure, for the page and for tests.
import type { NetworkView } from './network-view.ts';
import type { Site } from './sites.ts';

/** What the gateway says of a device: `silent` is a pushing device with nothing for 10 minutes. */
export type DeviceState = 'up' | 'degraded' | 'down' | 'silent' | 'offline' | 'unknown';

export interface DeviceReason {
  /** poll: a failed poll; flags: flags other than N; error: the gateway's last error; gateway: it is offline; none: no gateway reports the device. */
  why: 'poll' | 'flags' | 'error' | 'gateway' | 'none';
  /** The flags (`pm10 D`) or the gateway's own words, untranslated. */
  detail?: string;
}

export interface DeviceRow extends Site {
  dev: string;
  kind?: string;
  gw?: string;
  /** The newest sample time seen: a live reading, or a pushing device's as its gateway counts it. */
  lastSeen?: number;
  state: DeviceState;
  reason?: DeviceReason;
  /** The latest closed hour's AQI level (1–6), for air devices that have one. */
  aqiLevel?: number;
  openAlarms: number;
}

export function deviceRows(v: NetworkView, sites: Record<string, Site>): DeviceRow[] {
  const rows = new Map<string, DeviceRow>();
  const row = (dev: string): DeviceRow => {
    let r = rows.get(dev);
    if (!r) rows.set(dev, (r = { dev, ...sites[dev], state: 'unknown', openAlarms: 0 }));
    return r;
  };
  for (const dev of Object.keys(sites)) row(dev);
  for (const g of v.gateways.values()) {
    const offline = g.state === 'offline';
    const mark = (dev: string, state: DeviceState, reason?: DeviceReason) =>
      Object.assign(row(dev), {
        gw: g.gw,
        state: offline ? 'offline' : state,
        ...(offline ? { reason: { why: 'gateway', detail: g.gw } } : reason ? { reason } : {}),
      });
    for (const dev of g.upDevs) mark(dev, 'up');
    for (const dev of g.degradedDevs) mark(dev, 'degraded', { why: 'poll' });
    for (const d of g.down) mark(d.dev, 'down', { why: 'error', detail: d.error });
    for (const [dev, p] of Object.entries(g.pushed)) {
      const silent = g.silent.includes(dev);
      mark(dev, silent ? 'silent' : 'up', p.lastError ? { why: 'error', detail: p.lastError } : undefined);
      if (p.lastTs) row(dev).lastSeen = Math.max(row(dev).lastSeen ?? 0, p.lastTs);
    }
  }
  for (const r of v.readings.byDev.values()) {
    const d = row(r.dev);
    d.kind = r.kind;
    d.lastSeen = Math.max(d.lastSeen ?? 0, r.ts);
    // A degraded device with flags in its latest reading is degraded because of them.
    const flags = Object.entries(r.f).filter(([, f]) => f && f !== 'N');
    if (d.state === 'degraded' && flags.length)
      d.reason = { why: 'flags', detail: flags.map(([k, f]) => `${k} ${f}`).join(', ') };
  }
  for (const a of v.openAlarms()) {
    const d = row(a.dev);
    d.kind ??= a.kind;
    d.openAlarms++;
  }
  for (const a of v.aqi.values()) {
    if (a.kind === 'city') continue;
    const d = row(a.dev);
    d.kind ??= a.kind;
    if (a.level) d.aqiLevel = a.level;
  }
  for (const d of rows.values()) if (!d.gw && d.state === 'unknown') d.reason = { why: 'none' };
  return [...rows.values()].filter((d) => d.kind !== 'city').sort((a, b) => a.dev.localeCompare(b.dev));
}

export interface Filters {
  district?: string;
  kind?: string;
  gw?: string;
}
export const FILTER_KEYS = ['district', 'kind', 'gw'] as const;

export const filterRows = (rows: DeviceRow[], f: Filters): DeviceRow[] =>
  rows.filter((r) => FILTER_KEYS.every((k) => !f[k] || r[k] === f[k]));

/** The values each filter can take, from the rows: what the selects offer. */
export function filterChoices(rows: DeviceRow[]): Record<keyof Filters, string[]> {
  const of = (k: keyof Filters) => [...new Set(rows.map((r) => r[k]).filter((x): x is string => !!x))].sort();
  return { district: of('district'), kind: of('kind'), gw: of('gw') };
}

/** The page's view: the overview with the list's filters, or one device's page (24 h ending at `until`, else now). */
export type Route = { page: 'overview'; filters: Filters } | { page: 'device'; dev: string; until?: number };

/** `#district=新城区&kind=air.micro`, `#dev=aq-0007&until=1795917600000`. */
export function parseHash(hash: string): Route {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const dev = p.get('dev');
  if (dev) {
    const until = Number(p.get('until'));
    return { page: 'device', dev, ...(Number.isSafeInteger(until) && until > 0 ? { until } : {}) };
  }
  const filters: Filters = {};
  for (const k of FILTER_KEYS) if (p.get(k)) filters[k] = p.get(k)!;
  return { page: 'overview', filters };
}

export function formatHash(r: Route): string {
  const p = new URLSearchParams();
  if (r.page === 'device') {
    p.set('dev', r.dev);
    if (r.until) p.set('until', String(r.until));
  } else for (const k of FILTER_KEYS) if (r.filters[k]) p.set(k, r.filters[k]);
  const s = p.toString();
  return s ? `#${s}` : '#';
}
