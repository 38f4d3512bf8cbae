// What the console API's handlers share: an error that is an HTTP answer, the parameters they read
// (epoch milliseconds, bounded integers, device names) and the JSON reply.
import type http from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function epochParam(url: URL, name: string): number {
  const v = url.searchParams.get(name);
  if (v === null) throw new HttpError(400, `${name}: required, epoch milliseconds`);
  const n = Number(v);
  if (!/^\d{1,15}$/.test(v) || !Number.isSafeInteger(n))
    throw new HttpError(400, `${name}: expected epoch milliseconds, got ${v}`);
  return n;
}

export function intParam(url: URL, name: string, min: number, max: number): number {
  const v = url.searchParams.get(name)!;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name}: expected ${min}–${max}, got ${v}`);
  return n;
}

/** A device id as the envelope allows it (letters, digits, `._/-`): safe inside an InfluxQL string. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

export function devName(v: string, what = 'dev'): string {
  if (!NAME.test(v))
    throw new HttpError(
      400,
      `${what}: expected a device id of letters, digits and ._/- (at most 64), got ${JSON.stringify(v)}`,
    );
  return v;
}

export function send(
  res: http.ServerResponse,
  status: number,
  doc: string | object,
  headers: Record<string, string> = {},
): true {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(typeof doc === 'string' ? doc : JSON.stringify(doc));
  return true;
}
