// Posts /api/v2/write batches through @influxdata/influxdb-client's HTTP transport: its token auth,
// gzip, and its parsing of error answers (InfluxDB 2.x's {"code","message"}, X-Influxdb-Error).
//
// Only the transport, not its WriteApi: the WriteApi keeps its own buffer, drops the oldest lines when
// its retry buffer is full or a batch outlives maxRetryTime, and writePoint returns before anything is
// stored. Ingest may settle a record only once the server took it, so batching, the bounded buffer,
// retries and acknowledgement stay LineSink's.
import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import { parseRetryAfter } from './http-post.ts';
import type { Answer, Post, Query } from './line-sink.ts';

export interface ClientPostOptions {
  /** Base URL of the server. */
  url: string;
  /** Path and query of the write, e.g. /api/v2/write?org=…&bucket=…&precision=ns. */
  path: string;
  token?: string;
  /** Bodies longer than this (bytes) go gzipped. */
  gzipThreshold?: number;
}

/** Gzip above the library's own default: a batch of line protocol shrinks about tenfold. */
export const GZIP_THRESHOLD = 1000;

export function clientPost(o: ClientPostOptions): Post {
  // timeout 0: no socket timeout of its own (one that fires only reports, it does not end the request);
  // LineSink's signal ends a request that takes too long.
  const transport = new InfluxDB({ url: o.url, timeout: 0, ...(o.token ? { token: o.token } : {}) }).transport;
  const gzipThreshold = o.gzipThreshold ?? GZIP_THRESHOLD;
  return async (body, signal) => {
    let status = 204;
    try {
      await transport.request(
        o.path,
        body.toString(), // the transport takes text (anything else it sends as JSON)
        { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, gzipThreshold, signal },
        (_headers, code) => {
          status = code ?? status;
        },
      );
      return { status, text: '' };
    } catch (e) {
      if (e instanceof HttpError) return answerOf(e);
      // The library reports an abort as "Response aborted"; the signal knows it was our timeout.
      throw signal.aborted ? (signal.reason as Error) : e;
    }
  };
}

function answerOf(e: HttpError): Answer {
  // The library reads Retry-After as milliseconds (retryAfter()); HTTP says seconds, so it is read here.
  const header = e.headers?.['retry-after'];
  const after = parseRetryAfter(Array.isArray(header) ? header[0] : header);
  // A JSON error's message is the server's reason; otherwise the body as the server sent it.
  const text = (e.json !== undefined ? e.message : (e.body ?? e.message)).slice(0, 500);
  return { status: e.statusCode, text, ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

/**
 * Reads restore queries (InfluxQL /query, which InfluxDB 2.x serves for a bucket mapped to a database)
 * through the library's transport: the same token and error parsing as the writes, the answer streamed
 * chunk by chunk. Its QueryApi speaks Flux only, which a 1.x-compatible restore cannot use.
 */
export function clientQuery(o: { url: string; token?: string }): Query {
  const transport = new InfluxDB({ url: o.url, timeout: 0, ...(o.token ? { token: o.token } : {}) }).transport;
  return async function* (url, signal) {
    if (!url.startsWith(o.url)) throw new Error(`${url} is not under ${o.url}`);
    try {
      yield* transport.iterate(url.slice(o.url.length), '', { method: 'GET', signal });
    } catch (e) {
      if (e instanceof HttpError) throw new Error(`HTTP ${e.statusCode} ${answerOf(e).text.slice(0, 200)}`);
      throw signal.aborted ? (signal.reason as Error) : e;
    }
  };
}
