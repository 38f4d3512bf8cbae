// Every `§` in the code, configs, tests and folder READMEs names where it points: a section of a page in
// docs/ that exists, or a clause of a standard or a vendor's manual named on the same line. A reader
// outside the project has only the repository, so a section of a document kept elsewhere is a dead end,
// and docs/ itself names no such document.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const SKIP = new Set(['node_modules', '.git', 'docs', 'dist', '.qingcheng']);
const TEXT = /\.(ts|js|mjs|yaml|yml|json|py|sh|md|html|css)$|^Dockerfile$/;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (TEXT.test(name)) out.push(path);
  }
  return out;
}

/** The numbered headings of each page in docs/: `## 3. Envelope` and `### 3.7 Limits` give 3 and 3.7. */
function docSections(): Map<string, Set<string>> {
  const docs = new Map<string, Set<string>>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) {
        const secs = new Set<string>();
        for (const m of readFileSync(path, 'utf8').matchAll(/^#+\s+(\d+(?:\.\d+)*)\.?\s/gm)) secs.add(m[1]!);
        docs.set(relative(ROOT, path), secs);
      }
    }
  };
  walk(join(ROOT, 'docs'));
  return docs;
}

/** What may stand before a `§` on its line: a Markdown page, a standard (HJ 212-2017, GB/T 8170), a manual. */
const NAMER = /[\w./-]+\.md\b|\b(?:HJ|GB)(?:\/T)?\s?\d+(?:\.\d+)?(?:-\d{4})?|\bmanual\b|^\s*-?\s*section:/g;

/** The last page, standard or manual named in `text`. */
const lastNamer = (text: string): string | undefined => [...text.matchAll(NAMER)].pop()?.[0];

/**
 * Why the `§` at `at` of `line` is a dead end, or undefined when it points somewhere that exists. A
 * reference wrapped over lines may name its page on one of the two lines `above`.
 */
function deadEnd(line: string, at: number, docs: Map<string, Set<string>>, above: string[] = []): string | undefined {
  const section = /^§\s?(\d+(?:\.\d+)*)/.exec(line.slice(at))?.[1];
  if (!section) return undefined; // a § without a number (prose about sections)
  const namer =
    lastNamer(line.slice(0, at)) ??
    above
      .map(lastNamer)
      .reverse()
      .find((n) => n !== undefined);
  if (!namer) return `§${section} names no page: write docs/….md §${section}`;
  if (!namer.endsWith('.md')) return undefined; // a clause of a standard or a manual
  const path = namer.replace(/^(\.\.\/)+/, ''); // a path relative to a test file
  const page = [path, `docs/${path}`, `docs/standards/${path}`].find((p) => docs.has(p));
  if (!page) return `${namer} §${section} points outside docs/`;
  if (!docs.get(page)!.has(section)) return `${page} has no section ${section}`;
  return undefined;
}

describe('section references', () => {
  const docs = docSections();

  it('reads the numbered sections of docs/', () => {
    expect(docs.get('docs/protocol.md')?.has('3.7')).toBe(true);
    expect(docs.get('docs/standards/limits.md')?.has('7')).toBe(true);
  });

  it('tells a dead end from a reference that resolves', () => {
    expect(deadEnd('see docs/protocol.md §3.7', 21, docs)).toBeUndefined();
    expect(deadEnd('(modbus.md §6)', 11, docs)).toBeUndefined();
    expect(deadEnd('HJ 212-2017 §6.3: PNUM', 12, docs)).toBeUndefined();
    expect(deadEnd('  section: §5.3 data registers', 11, docs)).toBeUndefined();
    expect(deadEnd('the contract (§3.7)', 14, docs)).toMatch(/names no page/);
    expect(deadEnd('# §1): µg/m³', 2, docs, ['# (GB 3095, docs/standards/limits.md', 'x'])).toBeUndefined();
    expect(deadEnd('# §1): µg/m³', 2, docs, ['docs/standards/limits.md', 'x', 'y'].slice(1))).toMatch(/names no page/);
    expect(deadEnd('From shared/domain/instruments.md §7.', 34, docs)).toMatch(/points outside docs/);
    expect(deadEnd('docs/protocol.md §42', 17, docs)).toMatch(/has no section 42/);
  });

  it('every § outside docs/ points to a section of docs/ or names the standard or manual it cites', () => {
    const dead: string[] = [];
    for (const file of files(ROOT)) {
      if (file === SELF) continue; // its own examples are dead ends on purpose
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (let at = line.indexOf('§'); at >= 0; at = line.indexOf('§', at + 1)) {
          const why = deadEnd(line, at, docs, lines.slice(Math.max(0, i - 2), i));
          if (why) dead.push(`${relative(ROOT, file)}:${i + 1}: ${why}`);
        }
      });
    }
    expect(dead).toEqual([]);
  });

  it('no file outside docs/ sends the reader to a document kept beside the project', () => {
    const beside = /\bshared\/(?:domain|notes)\/|\bDESIGN\.md\b/;
    const found = files(ROOT)
      .filter((f) => f !== SELF)
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) => (beside.test(line) ? [`${relative(ROOT, f)}:${i + 1}`] : [])),
      );
    expect(found).toEqual([]);
  });

  it('no page of docs/ cites a file of the research kept beside the project: it cites the standards', () => {
    const pages: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.md')) pages.push(path);
      }
    };
    walk(join(ROOT, 'docs'));
    expect(pages.length).toBeGreaterThan(4);
    const found = pages.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bshared\//.test(line) ? [`${relative(ROOT, f)}:${i + 1}`] : [])),
    );
    expect(found).toEqual([]);
  });
});
