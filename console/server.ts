// Serves the operator console: the page, its style and script (bundled with esbuild when the server
// starts, so the browser runs the same NetworkView as the `watch` CLI), config.json telling it where the
// broker's MQTT-over-WebSocket listener is, and the alarm API (alarms-api.ts) over InfluxDB.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { listen } from '../protocol/listen.ts';
import { log } from '../protocol/log.ts';
import { readTls, scheme, type TlsFiles } from '../protocol/tls.ts';
import { AlarmApi } from './alarms-api.ts';
import { OperatorAuth } from './auth.ts';
import { Influx } from './influx.ts';
import { loadSites } from './sites.ts';

const WEB = new URL('./web/', import.meta.url).pathname;
/** Noto Sans SC from npm, served with the page: a kiosk without CJK fonts still shows Chinese. */
const FONT_DIR = dirname(createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc/package.json'));
const FONT_FILE = /^\/fonts\/files\/(noto-sans-sc-[a-z0-9-]+-400-normal\.woff2?)$/;

export interface ConsoleOptions {
  port: number;
  host?: string;
  /** ws://host:port/mqtt of the broker, as the browser reaches it. */
  ws: string;
  prefix: string;
  /** The broker as this server reaches it, to check operators' logins (default: `ws`). */
  mqtt?: string;
  /** InfluxDB 1.x base URL and database for the alarm API; without them the API answers 503. */
  influxUrl?: string;
  db?: string;
  influxUser?: string;
  influxPassword?: string;
  /** Ingest's devices file: district, site and coordinates of each device (console/sites.ts). */
  devices?: string;
  /** Serve HTTPS with this certificate and key (the operators' passwords cross the network). */
  tls?: TlsFiles;
}

type File = [type: string, body: string | Uint8Array];

export class ConsoleServer {
  private server?: http.Server | https.Server;
  port = 0;

  constructor(readonly o: ConsoleOptions) {}

  async start(): Promise<this> {
    const files = await this.files();
    const influx = this.o.influxUrl
      ? new Influx({
          url: this.o.influxUrl,
          db: this.o.db ?? 'qingcheng',
          ...(this.o.influxUser ? { username: this.o.influxUser, password: this.o.influxPassword ?? '' } : {}),
        })
      : undefined;
    const sites = this.o.devices ? loadSites(this.o.devices) : {};
    const api = new AlarmApi(influx, new OperatorAuth(this.o.mqtt ?? this.o.ws, this.o.prefix), Date.now, sites);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      api.handle(req, res).then(
        (done) => done || serveFile(files, req, res),
        (e: Error) => {
          log('error', 'console request failed', { url: req.url, error: e.stack });
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error');
        },
      );
    };
    this.server = this.o.tls
      ? https.createServer(readTls(this.o.tls, '--tls-cert'), handler)
      : http.createServer(handler);
    this.port = await listen(this.server, this.o.port, this.o.host, 'choose another --port');
    log('info', 'operator console', {
      url: `${scheme(!!this.o.tls, 'http')}://${this.o.host ?? '127.0.0.1'}:${this.port}/`,
      broker: this.o.ws,
      influx: this.o.influxUrl ?? 'none',
      devices: this.o.devices ? `${Object.keys(sites).length} from ${this.o.devices}` : 'none',
    });
    return this;
  }

  /** Reads the certificate and key again (SIGHUP); the ones loaded before stay when they do not load. */
  reloadTls(): boolean {
    if (!this.o.tls || !(this.server instanceof https.Server)) return false;
    try {
      this.server.setSecureContext(readTls(this.o.tls, '--tls-cert'));
      return true;
    } catch (e) {
      log('error', 'console certificate not reloaded; the one loaded before stays', { error: (e as Error).message });
      return false;
    }
  }

  /** The page's files, the script bundled now. */
  private async files(): Promise<Record<string, File>> {
    const bundle = await build({
      entryPoints: [`${WEB}app.ts`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    return {
      '/': ['text/html; charset=utf-8', readFileSync(`${WEB}index.html`)],
      '/style.css': ['text/css; charset=utf-8', readFileSync(`${WEB}style.css`)],
      '/app.js': ['text/javascript; charset=utf-8', bundle.outputFiles[0]!.contents],
      '/config.json': ['application/json', JSON.stringify({ ws: this.o.ws, prefix: this.o.prefix })],
      // Its @font-face rules point at ./files/…, which serveFile finds in the package.
      '/fonts/noto-sans-sc.css': ['text/css; charset=utf-8', readFileSync(join(FONT_DIR, '400.css'))],
    };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function serveFile(files: Record<string, File>, req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  const font = FONT_FILE.exec(path);
  if (font && req.method === 'GET') return serveFont(font[1]!, res);
  const f = files[path];
  if (!f || req.method !== 'GET') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-cache' }).end(f[1]);
}

/** One of the font's subsets (the browser fetches only those whose characters the page shows). */
function serveFont(name: string, res: http.ServerResponse): void {
  let body: Buffer;
  try {
    body = readFileSync(join(FONT_DIR, 'files', name));
  } catch {
    res.writeHead(404).end();
    return;
  }
  const type = name.endsWith('.woff2') ? 'font/woff2' : 'font/woff';
  res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=604800' }).end(body);
}
