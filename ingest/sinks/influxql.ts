// Reads back what ingest wrote, through InfluxQL /query (InfluxDB 1.x, 2.x's compatibility endpoint,
// 3.x). Answers are streamed in chunks, so restoring a day of a busy device never holds it all at once.
import type { Endpoint } from './line-sink.ts';

/** One series of an answer (epoch=ms): tags, column names, rows. */
export interface Series {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export class InfluxQL {
  constructor(
    private endpoint: Endpoint,
    private timeoutMs = 120_000,
  ) {}

  get available(): boolean {
    return this.endpoint.queryUrl !== undefined;
  }

  /** Calls `each` for every chunk of every series, in order; a series may come in several chunks. */
  async each(q: string, each: (s: Series) => void): Promise<void> {
    if (!this.endpoint.queryUrl) throw new Error('the database endpoint has no InfluxQL /query');
    const url = `${this.endpoint.queryUrl}&chunked=true&chunk_size=10000&q=${encodeURIComponent(q)}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const body = this.endpoint.query ? this.endpoint.query(url, signal) : this.fetchQuery(url, signal);
    // A chunked answer is one JSON document a line.
    let rest = '';
    const decoder = new TextDecoder();
    const line = (l: string) => {
      if (!l.trim()) return;
      const doc = JSON.parse(l) as { results?: { series?: Series[]; error?: string }[]; error?: string };
      const err = doc.error ?? doc.results?.[0]?.error;
      if (err) throw new Error(err);
      for (const s of doc.results?.[0]?.series ?? []) each(s);
    };
    for await (const chunk of body) {
      rest += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        line(rest.slice(0, i));
        rest = rest.slice(i + 1);
      }
    }
    line(rest + decoder.decode());
  }

  /** The answer's body over Node's fetch, with the endpoint's headers. */
  private async *fetchQuery(url: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
    const res = await fetch(url, { headers: this.endpoint.headers, signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    yield* res.body as AsyncIterable<Uint8Array>;
  }

  /** Every series of an answer, its chunks joined. */
  async all(q: string): Promise<Series[]> {
    const out = new Map<string, Series>();
    await this.each(q, (s) => {
      const key = `${s.name}\0${JSON.stringify(s.tags ?? {})}`;
      const have = out.get(key);
      if (have) have.values.push(...s.values);
      else out.set(key, { ...s, values: [...s.values] });
    });
    return [...out.values()];
  }
}
