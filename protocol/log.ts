// Structured logs: one JSON object a line, on stderr unless redirected (the stack sends them to a file
// so its live summary stays readable).
export type Level = 'debug' | 'info' | 'warn' | 'error';

const level = process.env.QINGCHENG_LOG ?? 'info';
let out: { write(s: string): unknown } = process.stderr;

export function setLogStream(s: { write(s: string): unknown }): void { out = s; }

export function log(l: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (level === 'quiet' && l !== 'error') return;
  if (l === 'debug' && level !== 'debug') return;
  out.write(JSON.stringify({ t: new Date().toISOString(), level: l, msg, ...fields }) + '\n');
}
