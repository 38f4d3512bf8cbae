// Listening on a port, the same way in every process: resolves with the port (the one the system chose
// for 0), and a port in use is an error that says what to do, keeping its EADDRINUSE code.
import type { Server } from 'node:net';

export function listen(
  server: Server,
  port: number,
  host = '127.0.0.1',
  hint = 'stop what holds it, or choose another port (0 picks a free one)',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? Object.assign(new Error(`port ${port} on ${host} is already in use: ${hint}`), { code: e.code })
          : e,
      );
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve((server.address() as { port: number }).port);
    });
  });
}
