// A TCP proxy that can cut its connections or slow them down: the network faults of `qingcheng chaos`
// (a gateway's link to the broker cut, a database that answers slowly).
import net from 'node:net';

export class TcpProxy {
  private server = net.createServer((c) => this.accept(c));
  private pairs = new Set<[net.Socket, net.Socket]>();
  private cut = false;
  private delayMs = 0;
  port = 0;

  constructor(private target: { host: string; port: number }) {}

  async listen(port = 0, host = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops every connection and refuses new ones until heal(). */
  cutAll(): void {
    this.cut = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Every chunk, both ways, waits `ms` before it is passed on (order kept); 0 passes at once. */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  heal(): void {
    this.cut = false;
    this.delayMs = 0;
  }

  private accept(client: net.Socket): void {
    if (this.cut) return void client.destroy();
    const upstream = net.connect(this.target.port, this.target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    // An error ends both at once; a close ends the pair's other side once what it was sent has gone
    // (a slow database still answers a request whose client has finished sending).
    const fail = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.setNoDelay(true);
      s.on('error', fail);
      s.on('close', () => this.pairs.delete(pair));
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /** Like src.pipe(dst), but each chunk can be held back; the source pauses while chunks wait. */
  private pipe(src: net.Socket, dst: net.Socket): void {
    let queue = Promise.resolve();
    let waiting = 0;
    src.on('data', (chunk: Buffer) => {
      const delay = this.delayMs;
      if (!delay && !waiting) {
        if (!dst.write(chunk)) src.pause();
        return;
      }
      waiting++;
      src.pause();
      queue = queue
        .then(() => new Promise((r) => setTimeout(r, delay)))
        .then(() => {
          waiting--;
          const room = dst.destroyed || dst.write(chunk);
          if (!waiting && room) src.resume(); // else 'drain' resumes it
        });
    });
    dst.on('drain', () => {
      if (!waiting) src.resume();
    });
    src.on('end', () => void queue.then(() => dst.end()));
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((r) => this.server.close(r));
  }
}
