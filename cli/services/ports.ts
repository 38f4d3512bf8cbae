import net from 'node:net';
import { listen } from '../../protocol/listen.ts';

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves if `port` can be listened on now; otherwise the listen helper's EADDRINUSE error with `hint`. */
export async function portIsFree(port: number, hint: string, host = '127.0.0.1'): Promise<void> {
  const probe = net.createServer();
  await listen(probe, port, host, hint);
  await new Promise((r) => probe.close(r));
}
