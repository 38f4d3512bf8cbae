// An independent Modbus TCP slave for tests: pymodbus (Debian's python3-pymodbus) under the system
// Python, serving points it encodes itself (tests/helpers/pymodbus-slave.py). It listens on a free port
// and says which; the test reads it back.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValueType, WordOrder } from '../../protocol/modbus-values.ts';
import { realClockEnv } from './clock.ts';

export interface SlavePoint {
  fc: 3 | 4;
  /** PDU address. */
  addr: number;
  type: ValueType;
  order?: WordOrder;
  /** Engineering value; the slave stores (value − offset) / scale. */
  value: number;
  scale?: number;
  offset?: number;
}

export interface PymodbusSlave {
  port: number;
  stop(): Promise<void>;
}

const SCRIPT = new URL('./pymodbus-slave.py', import.meta.url).pathname;

/** Starts the slave for `unit` with `points`; its spec file goes in `dir`. */
export async function startPymodbusSlave(dir: string, unit: number, points: SlavePoint[]): Promise<PymodbusSlave> {
  const spec = join(dir, `pymodbus-${unit}-${points.length}.json`);
  writeFileSync(spec, JSON.stringify({ unit, points }));
  const p = spawn('/usr/bin/python3', [SCRIPT, spec], { stdio: ['pipe', 'pipe', 'pipe'], env: realClockEnv() });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  let out = '';
  let err = '';
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // "listening PORT" is the script's own machine-readable answer (it binds port 0), not a log line.
  const port = await new Promise<number>((resolve, reject) => {
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.once('error', (e) => reject(new Error(`cannot run /usr/bin/python3: ${e.message}`)));
    p.once('exit', (code) =>
      reject(
        new Error(
          `the pymodbus slave exited (${code}) before listening` +
            (err.includes("No module named 'pymodbus'") ? ': install it, e.g. apt-get install python3-pymodbus' : '') +
            `\n${err}`,
        ),
      ),
    );
  });
  return {
    port,
    stop: async () => {
      if (p.exitCode === null) {
        p.stdin.end(); // the slave exits when its stdin closes
        await exited;
      }
    },
  };
}
