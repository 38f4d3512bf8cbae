// The operator console in the browser: MQTT over WebSocket to the broker (as an operator user), the same
// NetworkView as the `watch` CLI, drawn as tables once a second. The connection's state is told as it
// is: a banner while disconnected (the client retries) or when the login was refused (it does not), rows
// dimmed when their data is no longer current, the clock and the time of the last message in the header.
// Bundled by console/server.ts.
import mqtt, { type MqttClient } from 'mqtt';
import { Connection, type ConnectionState } from '../connection.ts';
import { beijing, NetworkView, type OpenAlarmView } from '../network-view.ts';
import { isStale, type ReadingView } from '../readings.ts';
import { DAY, HOUR, MINUTE } from '../../protocol/time.ts';
import { decodeCaptureSummary, type CaptureSummary } from '../capture.ts';
import { Topics } from '../../protocol/topics.ts';
import { AlarmHistory, mergeEvents, REFRESH_MS } from './alarms.ts';
import { currentLang, initialLang, said, setLang, t, type Key, type Lang } from './i18n.ts';
import { alarmKey, airTable, alarmsTable, aqiNote, esc, eventsTable, gatewaysTable, readingsTables } from './render.ts';
import { eventWhat, when } from '../screen.ts';
import {
  deviceRows,
  FILTER_KEYS,
  filterChoices,
  filterRows,
  formatHash,
  parseHash,
  type DeviceRow,
  type Filters,
  type Route,
} from '../devices-view.ts';
import type { Site } from '../sites.ts';
import {
  deviceBody,
  deviceHeader,
  devicesTable,
  filterOptions,
  loadDevicePage,
  stateText as deviceStateText,
  type DevicePageData,
} from './devices.ts';
import { mapSvg } from './map.ts';
import { standings } from '../limits.ts';
import { Notifier } from './notify.ts';

interface Config {
  ws: string;
  prefix: string;
}

const RECONNECT_MS = 2000;
const LANG_KEY = 'qc-lang';
const $ = (id: string) => document.getElementById(id)!;

interface Session {
  client: MqttClient;
  view: NetworkView;
  conn: Connection;
  user: string;
  history: AlarmHistory;
  /** Ingest's devices file as the console server read it: district, site, coordinates. */
  sites: Record<string, Site>;
  /** Each device's latest closed hour and day of data capture, read every minute. */
  capture: CaptureSummary['devices'];
}
let session: Session | undefined;
/** Capture rates change once an hour; a minute is soon enough. */
const CAPTURE_REFRESH_MS = MINUTE;
let cfg: Config;
let route: Route = { page: 'overview', filters: {} };
/** Where the device page's back link goes: the list as it was filtered. */
let overviewHash = '#';
let notifier: Notifier;
/** The device page's data, what it was loaded for, and what its body was last drawn from. */
let devicePage: DevicePageData | undefined;
let devicePageFor = '';
let deviceDrawn = '';

function draw(): void {
  const now = Date.now();
  $('clock').textContent = t('clock', { t: beijing(now) });
  if (!session) return;
  const { view, conn } = session;
  const live = conn.state.phase === 'connected';
  // Nothing is current while the page is not connected, whatever its age.
  const stale = (r: Pick<ReadingView, 'ts' | 'cadenceMs'>) => !live || isStale(r, now);
  drawState(conn, now);
  const rows = deviceRows(view, session.sites);
  const showDevice = route.page === 'device';
  $('device-page').hidden = !showDevice;
  document.querySelector('main')!.hidden = showDevice;
  if (route.page === 'device') return drawDevicePage(route, rows, now, live);
  drawDevices(rows, route.filters, now, live);
  const open = view.openAlarms();
  // An open alarm older than the history loaded brings its own history (and acknowledgement).
  if (live && !session.history.covers(open)) void session.history.load(open, now).then(drawAlarms);
  drawAlarms();
  $('events').innerHTML = eventsTable(mergeEvents(view.events, session.history.events), now);
  $('gateways').innerHTML = gatewaysTable(view, now, (ts) => stale({ ts }));
  // A series without readings (a city) reports once an hour, when an hour closes.
  $('air').innerHTML = airTable(view, now, (dev) =>
    stale(view.readings.byDev.get(dev) ?? { ts: (view.aqi.get(dev)?.hour ?? 0) + HOUR, cadenceMs: HOUR }),
  );
  $('aqi-note').textContent = aqiNote();
  const alarmsOf = new Map<string, OpenAlarmView[]>();
  for (const a of view.openAlarms()) alarmsOf.set(a.dev, [...(alarmsOf.get(a.dev) ?? []), a]);
  $('readings').innerHTML = readingsTables(view, now, stale, (r) =>
    standings(r.kind, session!.sites[r.dev], r.ts, r.m, alarmsOf.get(r.dev)),
  );
}

/** The device list as filtered, the filters' choices and the map of the devices shown. */
function drawDevices(all: DeviceRow[], filters: Filters, now: number, live: boolean): void {
  const choices = filterChoices(all);
  for (const k of FILTER_KEYS) {
    const sel = $(`f-${k}`) as HTMLSelectElement;
    // Rebuilt only when its choices change, so an open select is not redrawn under the operator.
    const key = `${currentLang()}|${choices[k].join('\u0000')}|${filters[k] ?? ''}`;
    if (sel.dataset.key !== key) {
      sel.innerHTML = filterOptions(choices[k], filters[k]);
      sel.dataset.key = key;
    }
  }
  const rows = filterRows(all, filters);
  $('devices-count').textContent = t('shown', { n: rows.length, total: all.length });
  const stale = (r: DeviceRow) => {
    const reading = session!.view.readings.byDev.get(r.dev);
    return !live || (reading ? isStale(reading, now) : false);
  };
  $('devices').innerHTML = devicesTable(rows, now, stale, session!.capture);
  const map = mapSvg(rows, deviceStateText);
  $('map').innerHTML = map || `<p class="muted">${esc(t('mapNone'))}</p>`;
  $('map-note').textContent = map ? t('mapNote') : '';
}

/** One device: its header every second; its charts, flags and alarms once loaded for the span asked. */
function drawDevicePage(r: Extract<Route, { page: 'device' }>, rows: DeviceRow[], now: number, live: boolean): void {
  const s = session!;
  const row = rows.find((x) => x.dev === r.dev);
  ($('device-back') as HTMLAnchorElement).href = overviewHash;
  $('device-head').innerHTML = deviceHeader(row, r.dev, s.view.readings.byDev.get(r.dev), now);
  const latest = r.until === undefined;
  // The latest day moves on: it is read again each minute (and shown as it was until then).
  const want = `${r.dev}|${latest ? `latest@${Math.ceil(now / 60_000)}` : r.until}`;
  if (live && devicePageFor !== want) {
    devicePageFor = want;
    // The latest 24 h end at the next whole minute, so buckets fall on round times.
    const until = r.until ?? Math.ceil(now / 60_000) * 60_000;
    if (!latest || devicePage?.dev !== r.dev) {
      devicePage = undefined;
      $('device-body').innerHTML = `<p class="muted">${esc(t('loading'))}</p>`;
    }
    void loadDevicePage(r.dev, until, s.history.headers()).then((p) => {
      if (devicePageFor !== want) return;
      devicePage = p;
      draw();
    });
  }
  const drawn = `${want}|${currentLang()}|${devicePage?.until}`;
  if (devicePage?.dev === r.dev && deviceDrawn !== drawn) {
    $('device-body').innerHTML = deviceBody(devicePage, row, s.sites[r.dev], latest, now);
    deviceDrawn = drawn;
  }
}

/** Follows the address: the overview with its filters, or a device's page. */
function onRoute(): void {
  route = parseHash(location.hash);
  if (route.page === 'overview') overviewHash = formatHash(route);
  else window.scrollTo(0, 0);
  draw();
}

/** Open alarms with their acknowledgements, and what is wrong with the history when it cannot be read. */
function drawAlarms(): void {
  if (!session) return;
  const { view, history } = session;
  const now = Date.now();
  $('alarms').innerHTML = alarmsTable(view.openAlarms(), now, {
    head: [t('acknowledged')],
    cells: (a) => [ackCell(a, now)],
  });
  $('alarm-note').textContent = history.error ? t('historyError', { error: history.error }) : '';
}

function ackCell(a: OpenAlarmView, now: number): string {
  const ack = session!.history.acks.get(alarmKey(a));
  if (!ack) return `<button type="button" data-ack="${esc(alarmKey(a))}">${esc(t('acknowledge'))}</button>`;
  return `<span class="acked" data-acked="${esc(alarmKey(a))}">${esc(t('ackedBy', { by: ack.by, at: when(ack.at, now) }))}: ${esc(ack.comment)}</span>`;
}

/** The acknowledgement dialog of one open alarm. */
function askAck(key: string): void {
  const a = session?.view.openAlarms().find((x) => alarmKey(x) === key);
  if (!a) return;
  const dialog = $('ack-dialog') as HTMLDialogElement;
  dialog.dataset.alarm = key;
  $('ack-what').textContent = `${a.dev} · ${a.rule} · ${a.field} · ${t('since')} ${when(a.since, Date.now())}`;
  ($('ack-comment') as HTMLTextAreaElement).value = '';
  $('ack-error').textContent = '';
  dialog.showModal();
}

async function sendAck(): Promise<void> {
  const dialog = $('ack-dialog') as HTMLDialogElement;
  const a = session?.view.openAlarms().find((x) => alarmKey(x) === dialog.dataset.alarm);
  if (!session || !a) return dialog.close();
  try {
    const comment = ($('ack-comment') as HTMLTextAreaElement).value;
    await session.history.acknowledge({ dev: a.dev, rule: a.rule, field: a.field, since: a.since, comment });
    dialog.close();
    drawAlarms();
  } catch (e) {
    $('ack-error').textContent = (e as Error).message;
  }
}

/** The header's state and last message, and the banner when the data is not live. */
function drawState(conn: Connection, now: number): void {
  const s = conn.state;
  $('state').textContent = stateText(s);
  $('last').textContent = conn.lastMessage
    ? t('lastMessage', { t: beijing(conn.lastMessage), ago: Math.round((now - conn.lastMessage) / 1000) })
    : t('noMessage');
  const banner = $('banner');
  banner.hidden = s.phase !== 'disconnected' && s.phase !== 'refused';
  banner.className = `banner ${s.phase}`;
  banner.dataset.phase = s.phase;
  if (s.phase === 'refused') banner.textContent = t('refusedBanner', { reason: said(s.reason ?? '') });
  if (s.phase === 'disconnected')
    banner.textContent = t('disconnectedBanner', {
      ws: cfg.ws,
      since: beijing(s.since),
      reason: said(s.reason ?? ''),
      every: RECONNECT_MS / 1000,
      n: s.attempts,
    });
}

function stateText(s: ConnectionState): string {
  if (s.phase === 'connected') return t('connectedAs', { ws: cfg.ws, user: session?.user ?? '' });
  if (s.phase === 'connecting') return t('connecting', { ws: cfg.ws });
  if (s.phase === 'refused') return t('refused');
  return t('disconnected');
}

/** Logs in afresh: a new client, view and connection state. */
function login(topics: Topics, user: string, password: string): void {
  session?.client.end(true);
  const client = mqtt.connect(cfg.ws, {
    username: user,
    password,
    clean: true,
    reconnectPeriod: RECONNECT_MS,
    protocolVersion: 4,
  });
  const s: Session = {
    client,
    view: new NetworkView(topics),
    conn: new Connection(),
    user,
    history: new AlarmHistory(user, password),
    sites: {},
    capture: {},
  };
  devicePageFor = '';
  session = s;
  client.on('connect', () => {
    s.conn.connected();
    client.subscribe(
      {
        [`${cfg.prefix}/status/+`]: { qos: 1 },
        [`${cfg.prefix}/alert/+`]: { qos: 1 },
        [`${cfg.prefix}/live/#`]: { qos: 0 },
      },
      () => void s.history.load(s.view.openAlarms(), Date.now(), true).then(draw),
    );
    void loadSites(s).then(draw);
    void loadCapture(s).then(draw);
    draw();
  });
  client.on('error', (e) => {
    // A refused login is final: the client does not retry it, and neither do we.
    if (s.conn.error(e as Error & { code?: unknown })?.phase === 'refused') client.end(true);
    draw();
  });
  client.on('close', () => {
    s.conn.closed();
    draw();
  });
  client.on('reconnect', () => s.conn.reconnecting());
  client.on('message', (topic, payload, packet) => {
    s.conn.message();
    const ev = s.view.onMessage(topic, payload.toString(), packet.retain);
    // onMessage returns only new events: a retained message restating what is open returns none.
    if (ev) {
      notifier.tell(
        ev,
        t('notifyTitle', { dev: ev.dev }),
        `${ev.rule} · ${ev.field} · ${eventWhat(ev, currentLang())}`,
      );
      $('notify-toggle').dataset.told = String(notifier.told.length);
    }
  });
  draw();
}

/** The latest capture rates, from the console server (the last two days: a silent device's last hour shows). */
async function loadCapture(s: Session): Promise<void> {
  try {
    const now = Date.now();
    const res = await fetch(`api/capture?since=${now - 2 * DAY}&until=${now + HOUR}`, { headers: s.history.headers() });
    if (res.ok) s.capture = decodeCaptureSummary(await res.text()).devices;
  } catch {
    // The column stays empty; everything else shows.
  }
}

/** The sites of the devices file, from the console server (none when it has no --devices). */
async function loadSites(s: Session): Promise<void> {
  try {
    const res = await fetch('api/sites', { headers: s.history.headers() });
    if (res.ok) s.sites = ((await res.json()) as { devices: Record<string, Site> }).devices;
  } catch {
    // The list and the map do without: devices still show from what MQTT tells.
  }
}

/** The page's fixed words, from the i18n table (elements marked data-t). */
function label(): void {
  document.documentElement.lang = currentLang() === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t('title')} — 青城 Qingcheng`;
  for (const el of document.querySelectorAll<HTMLElement>('[data-t]')) el.textContent = t(el.dataset.t as Key);
  ($('password') as HTMLInputElement).placeholder = t('password');
  ($('user') as HTMLInputElement).setAttribute('aria-label', t('user'));
  ($('password') as HTMLInputElement).setAttribute('aria-label', t('password'));
  ($('lang') as HTMLSelectElement).value = currentLang();
}

/** Switches the language, remembered for the next visit. */
function switchLang(l: Lang): void {
  setLang(l);
  localStorage.setItem(LANG_KEY, l);
  label();
  if (!session) $('state').textContent = t('notConnected');
  draw();
}

async function start(): Promise<void> {
  setLang(initialLang(localStorage.getItem(LANG_KEY), navigator.language));
  label();
  $('lang').addEventListener('change', (ev) => switchLang((ev.target as HTMLSelectElement).value as Lang));
  cfg = (await (await fetch('config.json')).json()) as Config;
  const topics = new Topics(cfg.prefix);
  $('state').textContent = t('notConnected');
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    login(topics, ($('user') as HTMLInputElement).value, ($('password') as HTMLInputElement).value);
  });
  $('alarms').addEventListener('click', (ev) => {
    const key = (ev.target as HTMLElement).closest<HTMLElement>('[data-ack]')?.dataset.ack;
    if (key) askAck(key);
  });
  $('ack-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendAck();
  });
  $('ack-cancel').addEventListener('click', () => ($('ack-dialog') as HTMLDialogElement).close());
  for (const k of FILTER_KEYS)
    $(`f-${k}`).addEventListener('change', (ev) => {
      const filters: Filters = route.page === 'overview' ? { ...route.filters } : {};
      const v = (ev.target as HTMLSelectElement).value;
      if (v) filters[k] = v;
      else delete filters[k];
      location.hash = formatHash({ page: 'overview', filters });
    });
  window.addEventListener('hashchange', onRoute);
  notifier = new Notifier(localStorage);
  const toggle = $('notify') as HTMLInputElement;
  toggle.checked = notifier.on;
  toggle.addEventListener('change', () => void notifier.set(toggle.checked));
  route = parseHash(location.hash);
  if (route.page === 'overview') overviewHash = formatHash(route);
  setInterval(draw, 1000);
  setInterval(() => {
    if (session?.conn.state.phase === 'connected') void loadCapture(session);
  }, CAPTURE_REFRESH_MS);
  // Other operators' acknowledgements, and events stored while this page was away.
  setInterval(() => {
    if (session?.conn.state.phase === 'connected')
      void session.history.load(session.view.openAlarms(), Date.now(), true).then(drawAlarms);
  }, REFRESH_MS);
  draw();
}

void start();
