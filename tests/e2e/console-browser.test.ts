// The operator console in a real headless Chromium against a real broker (MQTT over WebSocket), a real
// influxd and the console server: an operator logs in and watches readings change, an excursion shows as
// an alarm with its history and is acknowledged for good, a wrong password says why, and a broker that
// goes away shows as a banner and dimmed rows, and the page speaks Chinese in the font it serves. Live readings carry the browser's own clock, read from the
// page, since staleness is judged against it; alarm times are pinned.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { ConsoleServer } from '../../console/server.ts';
import { encodeAlert, encodeLive, type OpenAlarm } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { realClockEnv } from '../helpers/clock.ts';
import { Influxd } from '../helpers/influxd.ts';
import { Capture } from '../../ingest/capture.ts';
import { rsdRepeat } from '../helpers/messages.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM)
  console.warn(`${CHROMIUM} is missing: the browser tests are skipped (apt-get install chromium fonts-noto-cjk)`);

/** How long a selector may take: the page redraws once a second. */
const UI_MS = 10_000;
const t = new Topics();

describe.skipIf(!HAVE_CHROMIUM)('operator console in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qingcheng-console-'));
  const influx = new Influxd(join(dir, 'influxdb'));
  let broker: Broker;
  let web: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let ingest: MqttClient;
  let base = '';
  /** Uncaught errors in the page's script: there must be none. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await influx.start();
    broker = await new Broker({ port: 0, wsPort: 0, users: await makeUsers(['gw-e2e-a', 'gw-e2e-b']) }).start();
    // Ingest's devices file: where the devices stand (two of them on the map).
    const devices = join(dir, 'devices.yaml');
    writeFileSync(
      devices,
      `devices:
  aq-e2e: { district: 新城区, site: 内蒙古大学 南校区, lat: 40.816, lon: 111.683 }
  aq-e2f: { district: 赛罕区, site: 二十九中, lat: 40.790, lon: 111.735 }
  cems-e2e: { district: 托克托县, site: 托电 1号机组 }
`,
    );
    web = await new ConsoleServer({
      devices,
      port: 0,
      ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`,
      prefix: 'env/v1',
      influxUrl: influx.url,
      db: influx.db,
    }).start();
    base = `http://127.0.0.1:${web.port}/`;
    // Chromium keeps the real clock under faketime (npm run test:dates), like the other third-party programs.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], env: realClockEnv() });
    ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: 'ingest',
      password: PASSWORDS.ingest,
      protocolVersion: 4,
    });
  });

  afterAll(async () => {
    await ingest?.endAsync();
    await browser?.close();
    await web?.stop();
    await broker?.stop().catch(() => undefined);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new page logged in as `user`. */
  async function open(password: string, user = 'operator'): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(base);
    await p.fill('#user', user);
    await p.fill('#password', password);
    await p.click('#login button');
    return p;
  }

  /** With QC_SCREENSHOTS=<dir>, a full-page screenshot to look at. */
  const shot = async (p: Page, name: string) => {
    if (process.env.QC_SCREENSHOTS)
      await p.screenshot({ path: join(process.env.QC_SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  /** The browser's clock: what the page judges staleness by. */
  const browserNow = (p: Page) => p.evaluate(() => Date.now());

  const reading = (ts: number, pm25: number, f?: Record<string, string>) =>
    encodeLive({
      dev: 'aq-e2e',
      kind: 'air.micro',
      ts,
      m: { pm25, pm10: 90, so2: 12, no2: 30, co: 0.8, o3: 60 },
      ...(f ? { f } : {}),
    });

  it('logs in and shows readings as they change, with units and flags', async () => {
    page = await open(PASSWORDS.operator);
    await page.waitForSelector('#state:has-text("connected to")', { timeout: UI_MS });
    const now = await browserNow(page);
    await ingest.publishAsync(t.live('air.micro', 'aq-e2e'), reading(now, 61), { qos: 1, retain: true });
    const pm25 = page.locator('tr[data-dev="aq-e2e"] [data-field="pm25"]');
    await expect.poll(() => pm25.textContent(), { timeout: UI_MS }).toBe('61');
    await ingest.publishAsync(t.live('air.micro', 'aq-e2e'), reading(now + 1000, 62, { pm10: 'D' }), { qos: 0 });
    await expect.poll(() => pm25.textContent(), { timeout: UI_MS }).toBe('62');
    const table = page.locator('table[data-kind="air.micro"]');
    expect(await table.locator('th').allTextContents()).toEqual(
      expect.arrayContaining(['PM2.5 (µg/m³)', 'CO (mg/m³)', 'Device', 'Sample time', 'Reports every']),
    );
    await expect
      .poll(() => page.locator('tr[data-dev="aq-e2e"] abbr.flag').textContent(), { timeout: UI_MS })
      .toBe('D');
    // A limited reading says how close it is: SO2 12 of GB 3095's 1-hour 500 µg/m³.
    const so2 = page.locator('tr[data-dev="aq-e2e"] [data-share="so2"]');
    expect(await so2.textContent()).toBe('2 %');
    expect(await so2.getAttribute('title')).toBe('12 µg/m³ against the limit 500 µg/m³ (GB 3095 1-h)');
    expect(await page.locator('tr[data-dev="aq-e2e"]').getAttribute('class')).toBeNull(); // fresh, not dimmed
    expect(await page.locator('#last').textContent()).toMatch(/^last message \d\d:\d\d:\d\d/);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    await shot(page, 'live');
  });

  it('shows an excursion as an alarm with its history, acknowledged by an operator for good', async () => {
    const T0 = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
    const open: OpenAlarm = {
      rule: 'ultra-low',
      field: 'so2',
      since: T0 - 60_000,
      limit: 35,
      peak: 37.5,
      value: 37.5,
      lastTs: T0,
      openedAt: T0,
      openValue: 37.5,
    };
    // What ingest stored before this page opened: an earlier alarm of the stack, open and closed.
    const stored = [
      `alert,dev=cems-e2e,field=so2,rule=ultra-low state="open",value=36,limit=35,peak=36,since=${T0 - 7_200_000},kind="stack.cems" ${T0 - 7_200_000}`,
      `alert,dev=cems-e2e,field=so2,rule=ultra-low state="close",value=20,limit=35,peak=39,since=${T0 - 7_200_000},kind="stack.cems" ${T0 - 3_600_000}`,
    ];
    await fetch(`${influx.url}/write?db=${influx.db}&precision=ms`, { method: 'POST', body: stored.join('\n') });
    // The excursion, as ingest publishes it: the open event, retained with the open alarm.
    await ingest.publishAsync(
      t.alert('cems-e2e'),
      encodeAlert({
        dev: 'cems-e2e',
        kind: 'stack.cems',
        event: { ...open, dev: 'cems-e2e', state: 'open', ts: T0 },
        open: [open],
      }),
      { qos: 1, retain: true },
    );
    const key = `cems-e2e|ultra-low|so2|${open.since}`;
    const row = page.locator(`tr[data-alarm="${key}"]`);
    await row.waitFor({ timeout: UI_MS });
    expect(await row.textContent()).toContain('37.5 > 35 mg/m³');
    // The history came from the API: the earlier alarm's close was never sent to this page over MQTT.
    await page.locator(`tr[data-event^="cems-e2e|ultra-low|so2|${T0 - 7_200_000}|close"]`).waitFor({ timeout: UI_MS });
    await row.locator('button[data-ack]').click();
    await page.fill('#ack-comment', 'desulfurisation pump restarted');
    await page.click('#ack-submit');
    const acked = page.locator(`[data-acked="${key}"]`);
    await acked.waitFor({ timeout: UI_MS });
    expect(await acked.textContent()).toMatch(/^acknowledged by operator at .*: desulfurisation pump restarted$/);
    await shot(page, 'acknowledged');
    // Another session (a reload, or another operator) sees it: it is stored, not kept in the page.
    await page.reload();
    await page.fill('#password', PASSWORDS.operator);
    await page.click('#login button');
    await page.locator(`[data-acked="${key}"]`).waitFor({ timeout: UI_MS });
    expect(await page.locator(`[data-acked="${key}"]`).textContent()).toContain('desulfurisation pump restarted');
    const rows = await influx.rows(
      `SELECT "by", comment FROM alert_ack WHERE time >= ${T0 - 3_600_000}ms AND time <= ${T0}ms`,
    );
    expect(rows).toMatchObject([{ by: 'operator', comment: 'desulfurisation pump restarted' }]);
  });

  it('says why a wrong password is refused, and that it is not retried', async () => {
    const p = await open('wrong');
    const banner = p.locator('#banner[data-phase="refused"]');
    await banner.waitFor({ timeout: UI_MS });
    expect(await banner.textContent()).toContain('Bad username or password');
    expect(await banner.textContent()).toContain('not retried');
    await shot(p, 'refused');
    expect(await p.locator('#state').textContent()).toBe('LOGIN REFUSED');
    await p.close();
  });

  it('switches to Chinese, remembers it, and draws it in the font the console serves', async () => {
    await page.selectOption('#lang', 'zh');
    await page.locator('h2[data-t="openAlarms"]:has-text("未消除报警")').waitFor({ timeout: UI_MS });
    await expect
      .poll(() => page.locator('table[data-kind="air.micro"] th').allTextContents(), { timeout: UI_MS })
      .toEqual(expect.arrayContaining(['设备', '采样时间', 'PM2.5 (µg/m³)']));
    expect(await page.locator('#state').textContent()).toMatch(/^已连接 ws:/);
    // The Chinese on the page is drawn with Noto Sans SC from /fonts/, not left to the machine's fonts.
    const font = await page.evaluate(async () => {
      const text = [...document.querySelectorAll('h2')].map((h) => h.textContent).join('');
      const faces = await document.fonts.load('16px "Noto Sans SC"', text);
      return {
        text,
        faces: faces.length,
        ready: document.fonts.check('16px "Noto Sans SC"', text),
        files: performance
          .getEntriesByType('resource')
          .map((e) => new URL(e.name).pathname)
          .filter((p) => p.startsWith('/fonts/files/')),
        family: getComputedStyle(document.body).fontFamily,
      };
    });
    expect(font.text).toContain('实时数据');
    expect(font.faces).toBeGreaterThan(0);
    expect(font.ready).toBe(true);
    expect(font.files.length).toBeGreaterThan(0);
    expect(font.files.every((f) => /^\/fonts\/files\/noto-sans-sc-[\w-]+-400-normal\.woff2$/.test(f))).toBe(true);
    expect(font.family).toMatch(/^"Noto Sans SC"/);
    await shot(page, 'chinese');
    await page.reload();
    await page.locator('h2[data-t="readings"]:has-text("实时数据")').waitFor({ timeout: UI_MS });
    await page.selectOption('#lang', 'en');
    await page.fill('#password', PASSWORDS.operator);
    await page.click('#login button');
    await page.waitForSelector('#state:has-text("connected to")', { timeout: UI_MS });
  });

  /** A gateway's retained status, as the gateway publishes it. */
  async function gatewayStatus(gw: string, devices: object, ts: number): Promise<void> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: gw,
      username: gw,
      password: PASSWORDS.gateway,
      protocolVersion: 4,
    });
    const status = {
      state: 'online',
      ts,
      ep: 'e1',
      next_seq: 1,
      acked: 0,
      clock_offset_ms: 0,
      outbox: { depth: 0, evicted: 0 },
      uplink: {},
      sampling: {},
      devices,
    };
    await c.publishAsync(t.status(gw), JSON.stringify(status), { qos: 1, retain: true });
    await c.endAsync();
  }

  const deviceIds = (p: Page) =>
    p.locator('#devices tr[data-device]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-device')));

  it('lists devices with district, site, kind, gateway and state with its reason, filtered by district, kind and gateway in the address', async () => {
    const now = await browserNow(page);
    await gatewayStatus('gw-e2e-a', { up: ['aq-e2e'], degraded: ['aq-e2f'], down: [] }, now);
    await gatewayStatus(
      'gw-e2e-b',
      { up: [], degraded: [], down: [{ dev: 'cems-e2e', error: 'cannot open 10.0.0.9:502 (ECONNREFUSED)' }] },
      now,
    );
    await ingest.publishAsync(
      t.live('air.station', 'aq-e2f'),
      encodeLive({ dev: 'aq-e2f', kind: 'air.station', ts: now, m: { pm25: 40, pm10: 70 }, f: { pm10: 'D' } }),
      { qos: 1, retain: true },
    );
    const row = (dev: string) => page.locator(`#devices tr[data-device="${dev}"]`);
    await expect.poll(() => row('aq-e2f').textContent(), { timeout: UI_MS }).toContain('flags: pm10 D');
    expect(await row('aq-e2f').locator('td').allTextContents()).toEqual([
      'aq-e2f',
      '赛罕区',
      '二十九中',
      'air.station',
      'gw-e2e-a',
      expect.stringMatching(/^\d\d:\d\d:\d\d/),
      'degraded',
      'flags: pm10 D',
      '– · –', // no capture rate stored for it yet
    ]);
    await expect
      .poll(() => row('cems-e2e').textContent(), { timeout: UI_MS })
      .toContain('cannot open 10.0.0.9:502 (ECONNREFUSED)');
    expect(await row('cems-e2e').locator('[data-state]').getAttribute('data-state')).toBe('down');
    expect(await row('aq-e2e').locator('[data-state]').getAttribute('data-state')).toBe('up');
    await page.selectOption('#f-district', '赛罕区');
    await expect.poll(() => deviceIds(page), { timeout: UI_MS }).toEqual(['aq-e2f']);
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe('#district=赛罕区');
    await page.selectOption('#f-district', '');
    await page.selectOption('#f-kind', 'air.micro');
    await expect.poll(() => deviceIds(page), { timeout: UI_MS }).toEqual(['aq-e2e']);
    await page.selectOption('#f-kind', '');
    await page.selectOption('#f-gw', 'gw-e2e-b');
    await expect.poll(() => deviceIds(page), { timeout: UI_MS }).toEqual(['cems-e2e']);
    await shot(page, 'devices');
    // The address reproduces the view: another page opened on it shows the same filters.
    const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${base}#kind=air.micro&gw=gw-e2e-a`);
    await p.fill('#password', PASSWORDS.operator);
    await p.click('#login button');
    await expect.poll(() => deviceIds(p), { timeout: UI_MS }).toEqual(['aq-e2e']);
    expect(await p.locator('#f-kind').inputValue()).toBe('air.micro');
    expect(await p.locator('#f-gw').inputValue()).toBe('gw-e2e-a');
    await p.close();
    await page.selectOption('#f-gw', '');
  });

  it('draws the stations that have coordinates on the map, each linking to its page', async () => {
    const stations = page.locator('svg.map a[data-station]');
    await expect
      .poll(() => stations.evaluateAll((as) => as.map((a) => a.getAttribute('data-station'))), { timeout: UI_MS })
      .toEqual(['aq-e2e', 'aq-e2f']);
    // North up: aq-e2e (40.816 N) is above aq-e2f (40.790 N), and west of it.
    const at = (dev: string) =>
      page
        .locator(`svg.map a[data-station="${dev}"] circle.station`)
        .evaluate((c): [number, number] => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]);
    const [e, f] = [await at('aq-e2e'), await at('aq-e2f')];
    expect(e[0]).toBeLessThan(f[0]);
    expect(e[1]).toBeLessThan(f[1]);
    await page.locator('#map').scrollIntoViewIfNeeded();
    await shot(page, 'map');
    await page.locator('svg.map a[data-station="aq-e2f"]').click();
    await page.locator('#device-title:has-text("aq-e2f")').waitFor({ timeout: UI_MS });
    expect(new URL(page.url()).hash).toBe('#dev=aq-e2f');
    await page.click('#device-back');
    await page.locator('#devices tr[data-device]').first().waitFor({ timeout: UI_MS });
  });

  it("opens a device's page: 24-hour charts with units and limits, its flags and its alarms", async () => {
    const T0 = Date.UTC(2026, 10, 28, 2); // 10:00 Beijing
    // A day of minute readings before T0: pm25 rising 20 → 80 µg/m³, pm10 flagged D for the last half hour.
    const lines: string[] = [];
    const capture = new Capture(); // and the capture rates ingest writes beside them
    for (let i = 0; i < 1440; i++) {
      const ts = T0 - 86_400_000 + i * 60_000;
      capture.record('gw-e2e-a', { dev: 'aq-e2e', kind: 'air.micro', ts, m: { pm25: 1 } });
      const flag = i >= 1410 ? ',pm10_flag="D"' : '';
      lines.push(
        `air,dev=aq-e2e,gw=gw-e2e-a,kind=air.micro pm25=${20 + (60 * i) / 1440},pm10=90,so2=12,seq=${i}${flag} ${ts}000000`,
      );
    }
    lines.push(
      `alert,dev=aq-e2e,field=so2,rule=gb3095-1h state="open",value=520,limit=500,peak=520,since=${T0 - 3 * 3_600_000},kind="air.micro" ${T0 - 3 * 3_600_000}000000`,
    );
    lines.push(...capture.flush());
    await fetch(`${influx.url}/write?db=${influx.db}&precision=ns`, { method: 'POST', body: lines.join('\n') });
    await page.locator('#devices tr[data-device="aq-e2e"] a').click();
    await page.locator('#device-title:has-text("aq-e2e")').waitFor({ timeout: UI_MS });
    // The day before T0, pinned in the address.
    await page.evaluate((until) => (location.hash = `#dev=aq-e2e&until=${until}`), T0);
    const pm25 = page.locator('svg[data-chart="pm25"]');
    await pm25.waitFor({ timeout: UI_MS });
    expect(await page.locator('#span-text').textContent()).toBe('The 24 hours to 2026-11-28 10:00');
    expect(await pm25.getAttribute('aria-label')).toBe('PM2.5 (µg/m³)');
    // GB 3095-2026 transition 24-h limit for PM2.5, grade II: 60 µg/m³, dashed.
    const limit = pm25.locator('line.limit');
    expect(await limit.getAttribute('data-limit')).toBe('60');
    expect(await limit.evaluate((l) => getComputedStyle(l).strokeDasharray)).not.toBe('none');
    expect(await pm25.locator('text.limit-text').textContent()).toBe('limit 60 µg/m³ (GB 3095 24-h)');
    // 288 five-minute means in one line.
    expect((await pm25.locator('polyline.series').getAttribute('points'))!.split(' ')).toHaveLength(288);
    // The so2 limit is the one its alarm was judged by.
    expect(await page.locator('svg[data-chart="so2"] line.limit').getAttribute('data-limit')).toBe('500');
    expect(await page.locator('svg[data-chart="pm10"] rect.flagged').count()).toBe(6);
    expect(await page.locator('#device-flags li').allTextContents()).toEqual([
      'PM10 D (instrument fault): 6 × 5 min, 11-28 09:30 – 11-28 10:00',
    ]);
    await expect
      .poll(
        () =>
          page
            .locator('#device-alarms tr[data-event]')
            .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-event'))),
        { timeout: UI_MS },
      )
      .toEqual([`aq-e2e|gb3095-1h|so2|${T0 - 3 * 3_600_000}|open|${T0 - 3 * 3_600_000}`]);
    expect(await page.locator('#device-capture').textContent()).toBe(
      '24 of 24 hours valid (at least 45 minutes of valid data in the hour)',
    );
    expect(await page.locator('.capture-strip [data-capture="hour"][data-valid="true"]').count()).toBe(24);
    await shot(page, 'device');
    await page.selectOption('#lang', 'zh');
    await expect
      .poll(() => page.locator('svg[data-chart="pm25"] text.limit-text').textContent(), { timeout: UI_MS })
      .toBe('限值 60 µg/m³（GB 3095 24-h）');
    await shot(page, 'device-zh');
    await page.selectOption('#lang', 'en');
    await page.click('#device-back');
    await page.locator('#devices tr[data-device]').first().waitFor({ timeout: UI_MS });
  });

  it('notifies new alarms when asked to, and not what a retained message restates', async () => {
    await page.context().grantPermissions(['notifications'], { origin: base.replace(/\/$/, '') });
    await page.check('#notify');
    // Kept in the browser: a reload (and a new login, which brings the retained alarm of cems-e2e) keeps it on.
    await page.reload();
    await page.fill('#password', PASSWORDS.operator);
    await page.click('#login button');
    await page.waitForSelector('#state:has-text("connected to")', { timeout: UI_MS });
    expect(await page.isChecked('#notify')).toBe(true);
    await page.locator('tr[data-alarm^="cems-e2e|"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#notify-toggle').getAttribute('data-told')).toBeNull();
    const now = await browserNow(page);
    await ingest.publishAsync(t.alert('rsd-e2e'), rsdRepeat('rsd-e2e', now), { qos: 1 });
    await expect.poll(() => page.locator('#notify-toggle').getAttribute('data-told'), { timeout: UI_MS }).toBe('1');
    await page.uncheck('#notify');
  });

  it('shows a banner and dims every row when the broker goes away', async () => {
    await broker.stop();
    const banner = page.locator('#banner[data-phase="disconnected"]');
    await banner.waitFor({ timeout: UI_MS });
    expect(await banner.textContent()).toMatch(/^Disconnected from ws:\/\/127\.0\.0\.1:\d+\/mqtt since \d\d:\d\d:\d\d/);
    await page.locator('tr.stale[data-dev="aq-e2e"]').waitFor({ timeout: UI_MS });
    await page.locator('tr.stale[data-aqi="aq-e2e"]').waitFor({ timeout: UI_MS });
    await shot(page, 'disconnected');
    expect(pageErrors).toEqual([]);
  });
});
