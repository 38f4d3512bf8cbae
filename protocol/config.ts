// Reading YAML config files with errors that name the file, the key and what was expected:
//   gateway.yaml: devices[3].registers[2].type: expected one of uint16, int16, …, got "float"
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    readonly expected: string,
  ) {
    super(`${file}: ${key}: ${expected}`);
    this.name = 'ConfigError';
  }
}

export function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parse(text);
  } catch (e) {
    throw new ConfigError(file, '(document)', `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

type Obj = Record<string, unknown>;

/** A cursor into a parsed document that knows its file and key path. */
export class Node {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly value: unknown,
  ) {}

  fail(expected: string): never {
    throw new ConfigError(this.file, this.path || '(document)', expected);
  }

  private at(key: string | number): string {
    return typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** A child node; asserts this node is a mapping. */
  get(key: string): Node {
    if (!this.present) return new Node(this.file, this.at(key), undefined);
    if (typeof this.value !== 'object' || Array.isArray(this.value)) this.fail('expected a mapping');
    return new Node(this.file, this.at(key), (this.value as Obj)[key]);
  }

  /** Refuses keys other than `allowed`: a typo must not silently fall back to a default. */
  only(...allowed: string[]): this {
    if (!this.present) return this;
    if (typeof this.value !== 'object' || Array.isArray(this.value)) this.fail('expected a mapping');
    for (const k of Object.keys(this.value as Obj)) {
      if (!allowed.includes(k))
        new Node(this.file, this.at(k), undefined).fail(`unknown key; expected one of ${allowed.join(', ')}`);
    }
    return this;
  }

  list(opts: { optional?: boolean } = {}): Node[] {
    if (!this.present && opts.optional) return [];
    if (!Array.isArray(this.value)) this.fail('expected a list');
    return (this.value as unknown[]).map((v, i) => new Node(this.file, this.at(i), v));
  }

  str(opts: { def?: string; pattern?: RegExp; hint?: string } = {}): string {
    if (!this.present) return opts.def ?? this.fail(`required${opts.hint ? `: ${opts.hint}` : ''}`);
    if (typeof this.value !== 'string' && typeof this.value !== 'number')
      this.fail(`expected a string, got ${describe(this.value)}`);
    const s = String(this.value);
    if (opts.pattern && !opts.pattern.test(s))
      this.fail(`expected ${opts.hint ?? `text matching ${opts.pattern}`}, got ${JSON.stringify(s)}`);
    return s;
  }

  optStr(): string | undefined {
    return this.present ? this.str() : undefined;
  }

  num(opts: { def?: number; min?: number; max?: number; integer?: boolean } = {}): number {
    if (!this.present) return opts.def ?? this.fail('required: a number');
    const v = this.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`expected a number, got ${describe(v)}`);
    if (opts.integer && !Number.isInteger(v)) this.fail(`expected an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(`expected at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(`expected at most ${opts.max}, got ${v}`);
    return v;
  }

  optNum(opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    return this.present ? this.num(opts) : undefined;
  }

  oneOf<T extends string | number>(choices: readonly T[], def?: T): T {
    if (!this.present && def !== undefined) return def;
    if (!choices.includes(this.value as T))
      this.fail(`expected one of ${choices.join(', ')}, got ${describe(this.value)}`);
    return this.value as T;
  }

  bool(def: boolean): boolean {
    if (!this.present) return def;
    if (typeof this.value !== 'boolean') this.fail(`expected true or false, got ${describe(this.value)}`);
    return this.value;
  }
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

export function configRoot(file: string): Node {
  return new Node(file, '', readYaml(file));
}
