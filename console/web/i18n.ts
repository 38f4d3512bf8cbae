// The console's words, in English and Chinese. Every text on the page comes from here, so a language is
// one table; a key missing from a table falls back to English.

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

const ZH: Record<Key, string> = {
  title: '青城运维控制台',
  user: '用户',
  password: '密码',
  connect: '连接',
  none: '无',
  notConnected: '未连接：请用运维（operator）账号登录',
  connecting: '正在连接 {ws} …',
  connectedAs: '已连接 {ws}，用户 {user}',
  disconnected: '已断开',
  refused: '登录被拒绝',
  clock: '北京时间 {t}',
  lastMessage: '最新消息 {t}（{ago} 秒前）',
  noMessage: '尚无消息',
  disconnectedBanner:
    '自 {since} 起与 {ws} 断开连接（{reason}）。每 {every} 秒重试一次（已重试 {n} 次）。以下数据停留在断开时，不再更新。',
  refusedBanner: '代理服务器拒绝登录：{reason}。请检查用户名和密码后重新连接；被拒绝的登录不会自动重试。',
  gateways: '网关',
  openAlarms: '未消除报警',
  readings: '实时数据',
  air: '空气质量（AQI，HJ 633）',
  events: '报警事件',
  gateway: '网关',
  state: '状态',
  up: '正常',
  degraded: '降级',
  down: '离线设备',
  pushing: '推送设备',
  silent: '静默 ≥ 10 分钟',
  outbox: '待发记录',
  clockOffset: '时钟偏差（毫秒）',
  statusAt: '状态时间',
  online: '在线',
  offline: '离线',
  device: '设备',
  kind: '类型',
  rule: '规则',
  field: '监测项',
  since: '开始于',
  valueVsLimit: '数值与限值',
  peak: '峰值',
  time: '时间',
  vehicle: '车辆',
  acknowledged: '确认',
  acknowledge: '确认报警',
  ackedBy: '{by} 于 {at} 确认',
  ackTitle: '确认报警',
  ackComment: '处理措施或无需处理的原因（必填）',
  cancel: '取消',
  historyError: '报警历史与确认记录不可用：{error}',
  open: '报警',
  update: '加重',
  close: '消除',
  event: '事件',
  sampleTime: '采样时间',
  ago: '{n}前',
  every: '上报间隔',
  verdict: '判定',
  plate: '车牌',
  fuel: '燃料',
  judged: '已判定',
  over: '超标：{x}',
  notJudged: '未判定：{x}',
  flagTitle: 'HJ 212 数据标记 {f}：{m}',
  closedHour: '最近完整小时',
  noHourYet: '尚无完整小时',
  aqi: 'AQI',
  category: '类别',
  primary: '首要污染物',
  aqi24: '24 小时 AQI',
  warning: '预警',
  openHour: '当前小时（临时）',
  provisional: '临时值，{from}–{to}，{n} 分钟数据',
  provEdition: 'HJ 633-2026 之前不计算（需 24 小时均值）',
  provLate: '中途加入：下一小时起计算',
  provShort: '已有 {n} / {min} 分钟',
  provNone: '尚无数据',
  aqiNote:
    '最近完整小时的 AQI 由入库服务计算，随每条实时数据发布。当前小时在结束前没有正式值；' +
    '此处的临时值由本浏览器按 HJ 633-2026 小时 AQI 规则，用收到的实时数据的滑动均值计算（剔除 F、M、D、C、B 标记的数据），' +
    '仅当本页面自该小时开始便持续接收该设备数据（缺失不超过 15 分钟，与小时均值的有效性要求一致）且已有至少 {min} 分钟数据时显示。' +
    '实时数据每台设备每秒最多一条，采样更快的设备以抽样计。',
};

const TABLES: Record<Lang, Partial<Record<Key, string>>> = { en: EN, zh: ZH };

/** The registry's fields by name in Chinese (the English names come from protocol/pollutants.ts). */
export const FIELD_ZH: Record<string, string> = {
  pm25: 'PM2.5',
  pm10: 'PM10',
  pm1: 'PM1.0',
  tsp: '总悬浮颗粒物',
  so2: 'SO2',
  nox: '氮氧化物（以 NO2 计）',
  no2: 'NO2',
  no: 'NO',
  co: 'CO',
  o3: 'O3',
  dust: '烟尘',
  o2: '氧含量',
  flow_v: '烟气流速',
  flue_t: '烟气温度',
  flue_p: '烟气压力',
  flue_rh: '烟气湿度',
  flue_dp: '烟气动压',
  gas_flow: '废气流量',
  temp: '气温',
  rh: '相对湿度',
  pressure: '气压',
  ws: '风速',
  wd: '风向',
  ringelmann: '林格曼黑度',
  nh3: '氨',
  nmhc: '非甲烷总烃',
  thc: '总烃',
  ch4: '甲烷',
  tvoc: 'TVOC',
  fumes: '油烟',
  al: '气液比',
  fuel_l: '加油量',
  tank_p: '油罐压力',
  vapor_conc: '油气浓度',
  no_ppm: '尾气 NO',
  hc_ppm: '尾气 HC',
  co_pct: '尾气 CO',
  co2_pct: '尾气 CO2',
  opacity: '不透光度',
  speed: '车速',
  accel: '加速度',
  water_flow: '废水流量',
  ph: 'pH',
  cod: '化学需氧量',
  codmn: '高锰酸盐指数',
  bod5: '五日生化需氧量',
  nh3n: '氨氮',
  tp: '总磷',
  tn: '总氮',
  do: '溶解氧',
  water_t: '水温',
  cond: '电导率',
  ss: '悬浮物',
  fluoride: '氟化物',
  petroleum: '石油类',
  la: 'A 声级',
  leq: '等效声级',
  ldn: '昼夜等效声级',
  ld: '昼间等效声级',
  ln: '夜间等效声级',
  lmax: '最大声级',
  lmin: '最小声级',
};

/** Suffixes of interval statistics in Chinese (docs/protocol.md §3.4). */
export const SUFFIX_ZH: Record<string, string> = {
  zs: '折算',
  min: '最小值',
  max: '最大值',
  avg: '均值',
  cou: '累计',
  zsmin: '折算最小值',
  zsavg: '折算均值',
  zsmax: '折算最大值',
};

/** HJ 212 data flags (HJ 212-2017 Table 7; Td of HJ 212-2025). */
export const FLAG_ZH: Record<string, string> = {
  F: '停运',
  M: '维护',
  S: '手工输入',
  D: '故障',
  C: '校准',
  T: '超测定上限',
  B: '通讯异常',
  Td: '超测定上限（HJ 212-2025）',
};

/** Words that come from the broker or the network, where they are known. */
const REASONS_ZH: Record<string, string> = {
  'Bad username or password': '用户名或密码错误',
  'Not authorized': '未授权',
  'connection closed': '连接已关闭',
};

const WARNINGS_ZH: Record<string, string> = {
  none: '无',
  'pre-warning': '预警',
  yellow: '黄色',
  orange: '橙色',
  red: '红色',
};

/** A reason or a warning level as the current language says it. */
export function said(text: string): string {
  return lang === 'zh' ? (REASONS_ZH[text] ?? WARNINGS_ZH[text] ?? text) : text;
}

/** The language a page starts in: the one chosen before, else the browser's. */
export function initialLang(stored: string | null, browser: string): Lang {
  if (stored === 'en' || stored === 'zh') return stored;
  return browser.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

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
