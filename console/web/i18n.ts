// The console's words. Every text on the page comes from here, so a language is one table.

const EN = {
  title: 'Qingcheng operator console',
  user: 'user',
  password: 'password',
  connect: 'Connect',
  none: 'none',
  notConnected: 'not connected: log in with an operator user',
  connecting: 'connecting to {ws} …',
  connectedAs: 'connected to {ws} as {user}',
  disconnected: 'DISCONNECTED',
  refused: 'LOGIN REFUSED',
  clock: '{t} Beijing',
  lastMessage: 'last message {t} ({ago} s ago)',
  noMessage: 'no message yet',
  disconnectedBanner:
    'Disconnected from {ws} since {since} ({reason}). Retrying every {every} s (attempts so far: {n}). The data below is as it was then and is not updating.',
  refusedBanner:
    'The broker refused the login: {reason}. Check the user and password and connect again; a refused login is not retried.',
  gateways: 'Gateways',
  openAlarms: 'Open alarms',
  readings: 'Live readings',
  air: 'Air quality (AQI, HJ 633)',
  events: 'Alarm events',
  // gateway columns
  gateway: 'Gateway',
  state: 'State',
  up: 'Up',
  degraded: 'Degraded',
  down: 'Down',
  pushing: 'Pushing',
  silent: 'Silent ≥ 10 min',
  outbox: 'Outbox (records)',
  clockOffset: 'Clock offset (ms)',
  statusAt: 'Status at',
  online: 'online',
  offline: 'offline',
  // alarm columns
  device: 'Device',
  kind: 'Kind',
  rule: 'Rule',
  field: 'Field',
  since: 'Since',
  valueVsLimit: 'Value vs limit',
  peak: 'Peak',
  time: 'Time',
  vehicle: 'Vehicle',
  acknowledged: 'Acknowledgement',
  acknowledge: 'Acknowledge',
  ackedBy: 'acknowledged by {by} at {at}',
  ackTitle: 'Acknowledge the alarm',
  ackComment: 'What was done, or why it needs nothing (required)',
  cancel: 'Cancel',
  historyError: 'Alarm history and acknowledgements unavailable: {error}',
  open: 'open',
  update: 'update',
  close: 'close',
  event: 'event',
  // readings
  sampleTime: 'Sample time',
  ago: '{n} ago',
  every: 'Reports every',
  verdict: 'Verdict',
  plate: 'Plate',
  fuel: 'Fuel',
  judged: 'judged',
  over: 'over: {x}',
  notJudged: 'not judged: {x}',
  flagTitle: 'HJ 212 flag {f}: {m}',
  // AQI columns
  closedHour: 'Latest closed hour',
  noHourYet: 'no hour closed yet',
  aqi: 'AQI',
  category: 'Category',
  primary: 'Primary pollutant',
  aqi24: '24-h AQI',
  warning: 'Warning',
  openHour: 'Open hour (provisional)',
  provisional: 'provisional, {from}–{to}, {n} min of data',
  provEdition: 'not before HJ 633-2026 (needs 24-h means)',
  provLate: 'joined late: from the next hour',
  provShort: '{n} of {min} min so far',
  provNone: 'no readings yet',
  aqiNote:
    'The AQI of the latest closed hour is computed by ingest and comes with every reading. The open hour has no official value until it closes; ' +
    'the provisional one here is computed in this browser with the HJ 633-2026 hourly rules from the running means of the readings it received ' +
    '(flags F, M, D, C, B left out), only when this page has followed the device since the hour began (at most 15 minutes missing, as an hourly mean allows) ' +
    'and has at least {min} minutes of readings. live/ sends at most one reading a second per device, so a faster device is sampled.',
} as const;

export type Key = keyof typeof EN;
export type Lang = 'en' | 'zh';

const TABLES: Record<Lang, Partial<Record<Key, string>>> = { en: EN, zh: {} };

let lang: Lang = 'en';

export function setLang(l: Lang): void {
  lang = l;
}

export function currentLang(): Lang {
  return lang;
}

/** The text of `key` in the current language, with `{name}` filled from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = TABLES[lang][key] ?? EN[key];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}
