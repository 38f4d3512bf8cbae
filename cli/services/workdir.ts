// The stack's working directory, and undoing what a failed start put there: a start that stops on a
// port in use or a missing influxd should leave the machine as it found it.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../args.ts';

export class WorkDir {
  /** The outermost directory this start created (the working directory or a parent of it), if any. */
  private readonly made: string | undefined;
  /** What the directory held before this start, when it was there already. */
  private readonly before: Set<string>;

  constructor(readonly path: string) {
    try {
      this.made = mkdirSync(path, { recursive: true });
      this.before = new Set(this.made ? [] : readdirSync(path));
    } catch (e) {
      throw new CliError(`--dir ${path}: cannot use it as the working directory (${(e as Error).message})`);
    }
  }

  /** Removes what this start created: the directory if it made it, else the entries that were not there before. */
  undo(): void {
    if (this.made) {
      rmSync(this.made, { recursive: true, force: true });
      return;
    }
    for (const name of readdirSync(this.path)) {
      if (!this.before.has(name)) rmSync(join(this.path, name), { recursive: true, force: true });
    }
  }
}
