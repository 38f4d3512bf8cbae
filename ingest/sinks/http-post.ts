// Posts batches over node:http(s) with a keep-alive pool of one connection per batch in flight.
// Not fetch: it encodes a string body to bytes and copies them again into its stream, and builds an
// abort controller and a response stream per request; here the body is written once, as it is.
import http from 'node:http';
import https from 'node:https';
import type { Answer, Endpoint, Post } from './line-sink.ts';

/** The first characters of an answer's body that are kept (an error's reason). */
const TEXT_MAX = 500;

export function httpPost(endpoint: Pick<Endpoint, 'url' | 'headers'>, connections: number): Post {
  const url = new URL(endpoint.url);
  const lib = url.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: connections });
  const headers = { 'content-type': 'text/plain; charset=utf-8', ...endpoint.headers };
  return (body, signal) =>
    new Promise<Answer>((resolve, reject) => {
      const req = lib.request(
        url,
        { method: 'POST', agent, signal, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            if (text.length < TEXT_MAX) text += d;
          });
          res.once('error', reject);
          res.once('end', () => {
            const after = parseRetryAfter(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              text: text.slice(0, TEXT_MAX),
              ...(after !== undefined ? { retryAfterMs: after } : {}),
            });
          });
        },
      );
      // A timeout aborts with the signal's reason (a TimeoutError), which names what happened.
      req.once('error', (e: Error & { cause?: Error }) => reject(e.name === 'AbortError' && e.cause ? e.cause : e));
      req.end(body);
    });
}

/** A Retry-After header (delay in seconds, or an HTTP date) in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
