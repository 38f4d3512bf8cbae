// Command-line options with their defaults in one table, so `--help` lists every option and its default.
import { parseArgs } from 'node:util';

export interface Opt {
  type: 'string' | 'boolean';
  default?: string | boolean;
  help: string;
  /** Environment variable read when the option is not given. */
  env?: string;
}

export type Opts = Record<string, Opt>;

export class UsageError extends Error {}

/** A failure the user can act on: `qingcheng` prints its message in one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parsed options: booleans as booleans, the rest as text (undefined when not given and without default). */
export type Parsed<T extends Opts> = {
  [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string | undefined;
} & { _: string[] };

export function parse<T extends Opts>(argv: string[], usage: string, opts: T): Parsed<T> {
  const all: Opts = { ...opts, help: { type: 'boolean', help: '' } };
  const options = Object.fromEntries(
    Object.entries(all).map(([k, o]): [string, { type: Opt['type'] }] => [k, { type: o.type }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${helpText(usage, opts)}`);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    process.stdout.write(helpText(usage, opts) + '\n');
    process.exit(0);
  }
  const out: Record<string, unknown> = { _: parsed.positionals };
  for (const [k, o] of Object.entries(opts)) {
    const v = (parsed.values as Record<string, unknown>)[k];
    out[k] =
      v ??
      (o.env !== undefined ? process.env[o.env] : undefined) ??
      o.default ??
      (o.type === 'boolean' ? false : undefined);
  }
  return out as Parsed<T>;
}

export function helpText(usage: string, opts: Opts): string {
  const rows = Object.entries(opts).map(([k, o]) => {
    const name = `--${k}${o.type === 'string' ? ' <value>' : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : '';
    const env = o.env ? ` [env ${o.env}]` : '';
    return `  ${name.padEnd(30)} ${o.help}${def}${env}`;
  });
  return `${usage}\n\nOptions:\n${rows.join('\n')}\n  ${'--help'.padEnd(30)} show this help`;
}

export function int(v: string | undefined, name: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}
