// Structured logs: one JSON object a line on stderr, so stdout stays free for a role's own output.
export type Level = 'debug' | 'info' | 'warn' | 'error';

let quiet = process.env.QINGCHENG_LOG === 'quiet';
const debug = process.env.QINGCHENG_LOG === 'debug';

export function setQuiet(q: boolean): void { quiet = q; }

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (quiet && level !== 'error') return;
  if (level === 'debug' && !debug) return;
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }) + '\n');
}
