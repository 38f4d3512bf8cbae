// Where a child `qingcheng` process listens, read from the file its --ready-file option writes once every
// listener is up (docs/architecture.md §2.7): a test that starts it on port 0 learns the ports without
// reading its log.
import { readFileSync } from 'node:fs';
import type { Ready } from '../../cli/ready-file.ts';
import type { Proc } from './pipeline.ts';
import { waitFor } from './wait.ts';

export type { Ready };

/** The ready file of `proc` once it has written it (a file naming another pid is not its own). */
export async function readyOf(proc: Proc, path: string, timeoutMs = 30_000): Promise<Ready> {
  let ready: Ready | undefined;
  const exited = () => proc.child.exitCode !== null || proc.child.signalCode !== null;
  await waitFor(
    `${proc.name} to write its ready file ${path}`,
    () => exited() || (ready = readReady(path, proc.child.pid)) !== undefined,
    timeoutMs,
    50,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${proc.output.slice(-3000)}`);
  });
  if (!ready) throw new Error(`${proc.name} exited before it was ready:\n${proc.output.slice(-3000)}`);
  return ready;
}

/** The file's object when it exists and names `pid`. */
function readReady(path: string, pid: number | undefined): Ready | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const ready = JSON.parse(text) as Ready;
  return ready.pid === pid ? ready : undefined;
}

/** A port the ready file must name: a missing one fails with the whole file. */
export function portIn(ready: Ready, name: string): number {
  const port = ready.ports[name] ?? ready.links?.[name];
  if (port === undefined) throw new Error(`no port "${name}" in the ready file: ${JSON.stringify(ready)}`);
  return port;
}
