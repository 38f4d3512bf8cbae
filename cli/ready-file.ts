// `--ready-file PATH` of the long-running roles: once every listener is up, the process writes where it
// listens as one JSON object (docs/architecture.md §2.7), so a supervisor or a test that asked for port 0
// reads the ports back instead of parsing a log line. Written beside PATH and renamed over it: a reader
// sees the whole object or none.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { CliError } from './args.ts';

export const READY_FILE_OPT = {
  'ready-file': {
    type: 'string',
    help: 'once every listener is up, write {"pid":…,"ports":{…}} here, the ports actually bound (PATH.tmp, then renamed); removed on shutdown',
  },
} as const;

/** What a ready file holds. `links` are a gateway's http and hj212 links, by link name. */
export interface Ready {
  pid: number;
  ports: Record<string, number>;
  links?: Record<string, number>;
}

/**
 * Writes the ready file when `path` is given; returns what removes it (on shutdown, so a file left in
 * place names a process that is still up, or one that was killed).
 */
export function writeReadyFile(
  path: string | undefined,
  ports: Record<string, number | undefined>,
  links?: Record<string, number>,
): () => void {
  if (!path) return () => undefined;
  const ready: Ready = {
    pid: process.pid,
    ports: Object.fromEntries(Object.entries(ports).filter((e): e is [string, number] => e[1] !== undefined)),
    ...(links ? { links } : {}),
  };
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(ready)}\n`);
    renameSync(tmp, path);
  } catch (e) {
    throw new CliError(`--ready-file: cannot write ${path}: ${(e as Error).message}`);
  }
  return () => rmSync(path, { force: true });
}
