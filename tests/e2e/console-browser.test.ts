// The operator console in a real headless Chromium against a real broker (MQTT over WebSocket) and the
// console server: an operator logs in and watches readings change, a wrong password says why, and a
// broker that goes away shows as a banner and dimmed rows. Sample times are the browser's own clock,
// read from the page, since staleness is judged against it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../broker/server.ts';
import { ConsoleServer } from '../../console/server.ts';
import { encodeLive } from '../../protocol/messages.ts';
import { Topics } from '../../protocol/topics.ts';
import { realClockEnv } from '../helpers/clock.ts';
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
  let broker: Broker;
  let web: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let ingest: MqttClient;
  let base = '';

  beforeAll(async () => {
    broker = await new Broker({ port: 0, wsPort: 0, users: await makeUsers([]) }).start();
    web = await new ConsoleServer({ port: 0, ws: `ws://127.0.0.1:${broker.wsPort}/mqtt`, prefix: 'env/v1' }).start();
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
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new page logged in as `user`. */
  async function open(password: string, user = 'operator'): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
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
    expect(await page.locator('tr[data-dev="aq-e2e"]').getAttribute('class')).toBeNull(); // fresh, not dimmed
    expect(await page.locator('#last').textContent()).toMatch(/^last message \d\d:\d\d:\d\d/);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    await shot(page, 'live');
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

  it('shows a banner and dims every row when the broker goes away', async () => {
    await broker.stop();
    const banner = page.locator('#banner[data-phase="disconnected"]');
    await banner.waitFor({ timeout: UI_MS });
    expect(await banner.textContent()).toMatch(/^Disconnected from ws:\/\/127\.0\.0\.1:\d+\/mqtt since \d\d:\d\d:\d\d/);
    await page.locator('tr.stale[data-dev="aq-e2e"]').waitFor({ timeout: UI_MS });
    await page.locator('tr.stale[data-aqi="aq-e2e"]').waitFor({ timeout: UI_MS });
    await shot(page, 'disconnected');
  });
});
