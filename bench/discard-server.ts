// An HTTP server that reads each request whole and answers 204, for bench/hot-paths.ts: it runs in its own
// process so that what it spends is not counted as the client's. Sends its port to the parent.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => res.writeHead(204).end());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send!(typeof a === 'object' && a ? a.port : 0);
});
process.on('disconnect', () => process.exit(0));
