// Serves the operator console: the page, its script (bundled with esbuild when the server starts, so the
// browser runs the same NetworkView as the `watch` CLI), and config.json telling it where the broker's
// MQTT-over-WebSocket listener is.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { listen } from '../protocol/listen.ts';
import { log } from '../protocol/log.ts';

const WEB = new URL('./web/', import.meta.url).pathname;

export interface ConsoleOptions {
  port: number;
  host?: string;
  /** ws://host:port/mqtt of the broker. */ ws: string;
  prefix: string;
}

export class ConsoleServer {
  private server?: http.Server;
  port = 0;

  constructor(readonly o: ConsoleOptions) {}

  async start(): Promise<this> {
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
    const files: Record<string, [string, string | Uint8Array]> = {
      '/': ['text/html; charset=utf-8', readFileSync(`${WEB}index.html`)],
      '/style.css': ['text/css; charset=utf-8', readFileSync(`${WEB}style.css`)],
      '/app.js': ['text/javascript; charset=utf-8', bundle.outputFiles[0]!.contents],
      '/config.json': ['application/json', JSON.stringify({ ws: this.o.ws, prefix: this.o.prefix })],
    };
    this.server = http.createServer((req, res) => {
      const f = files[(req.url ?? '/').split('?')[0]!];
      if (!f || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-cache' }).end(f[1]);
    });
    this.port = await listen(this.server, this.o.port, this.o.host, 'choose another --port');
    log('info', 'operator console', { url: `http://${this.o.host ?? '127.0.0.1'}:${this.port}/`, broker: this.o.ws });
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
