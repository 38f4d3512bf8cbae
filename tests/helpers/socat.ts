// A pair of connected pseudo-terminals made by socat: what one end writes, the other reads, like two
// devices on a serial line. Each test gets its own pair in its own directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../cli/services/ports.ts';
import { realClockEnv } from './clock.ts';

export interface PtyPair {
  a: string;
  b: string;
  stop(): Promise<void>;
}

export async function ptyPair(dir: string): Promise<PtyPair> {
  const a = join(dir, 'ttyA');
  const b = join(dir, 'ttyB');
  const p = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
    env: realClockEnv(),
  });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const failed = new Promise<never>((_, reject) =>
    p.once('error', (e) =>
      reject(new Error(`cannot run socat (${e.message}): install it, e.g. apt-get install socat`)),
    ),
  );
  await Promise.race([waitFor('socat to make its ptys', () => existsSync(a) && existsSync(b), 5000, 20), failed]);
  return {
    a,
    b,
    stop: async () => {
      if (p.exitCode === null) {
        p.kill();
        await exited;
      }
    },
  };
}
