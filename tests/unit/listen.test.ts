import net from 'node:net';
import { expect, it } from 'vitest';
import { listen } from '../../protocol/listen.ts';

it('listens on a free port, and names a port in use with what to do, keeping EADDRINUSE', async () => {
  const a = net.createServer();
  const port = await listen(a, 0);
  expect(port).toBeGreaterThan(0);
  const b = net.createServer();
  await expect(listen(b, port, '127.0.0.1', 'choose another --port')).rejects.toMatchObject({
    code: 'EADDRINUSE',
    message: `port ${port} on 127.0.0.1 is already in use: choose another --port`,
  });
  a.close();
});
