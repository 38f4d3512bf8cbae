// Structured logs: one JSON object a line, on stderr unless redirected (the stack sends them to a file
// so its live summary stays readable). QINGCHENG_LOG sets the least level shown: debug, info (default),
// warn, error.
export type Level = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const least = RANK[(process.env.QINGCHENG_LOG ?? 'info') as Level] ?? RANK.info;
let out: { write(s: string): unknown } = process.stderr;

export function setLogStream(s: { write(s: string): unknown }): void {
  out = s;
}

export function log(l: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (RANK[l] < least) return;
  out.write(JSON.stringify({ t: new Date().toISOString(), level: l, msg, ...fields }) + '\n');
}
