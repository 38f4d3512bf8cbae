// The console server's InfluxDB 1.x client: InfluxQL reads over /query and line-protocol writes over
// /write. Reads answer in epoch ms; writes are line protocol in ns (protocol/line-protocol.ts). Queries always carry
// explicit time bounds from the caller.

export interface InfluxOptions {
  url: string;
  db: string;
  username?: string;
  password?: string;
}

/** A row of a query, tags and fields by column name, `time` in epoch ms. */
export type Row = Record<string, unknown> & { time: number };

export interface Series {
  name: string;
  tags: Record<string, string>;
  rows: Row[];
}

interface QueryResult {
  results?: {
    series?: { name?: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
    error?: string;
  }[];
  error?: string;
}

export class InfluxError extends Error {
  override name = 'InfluxError';
}

export class Influx {
  constructor(readonly o: InfluxOptions) {}

  private params(extra: Record<string, string>): URLSearchParams {
    return new URLSearchParams({
      db: this.o.db,
      ...(this.o.username ? { u: this.o.username, p: this.o.password ?? '' } : {}),
      ...extra,
    });
  }

  /** Rows of an InfluxQL query (a measurement that does not exist yet has none). */
  async rows(q: string): Promise<Row[]> {
    return (await this.series(q)).flatMap((s) => s.rows);
  }

  /** The series of an InfluxQL query, each with its measurement and GROUP BY tags. */
  async series(q: string): Promise<Series[]> {
    const res = await this.send(`/query?${this.params({ q, epoch: 'ms' })}`, { method: 'GET' });
    const doc = (await res.json()) as QueryResult;
    const r = doc.results?.[0];
    const error = doc.error ?? r?.error;
    if (error) throw new InfluxError(`InfluxDB refused the query: ${error}`);
    return (r?.series ?? []).map((s) => ({
      name: s.name ?? '',
      tags: s.tags ?? {},
      rows: s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) as Row),
    }));
  }

  /** Writes lines of line protocol with millisecond timestamps. */
  async write(lines: string[]): Promise<void> {
    await this.send(`/write?${this.params({ precision: 'ns' })}`, { method: 'POST', body: lines.join('\n') });
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.o.url.replace(/\/$/, '') + path, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new InfluxError(`InfluxDB at ${this.o.url} cannot be reached: ${(e as Error).message}`);
    }
    if (!res.ok) throw new InfluxError(`InfluxDB answered ${res.status}: ${(await res.text()).trim().slice(0, 300)}`);
    return res;
  }
}
