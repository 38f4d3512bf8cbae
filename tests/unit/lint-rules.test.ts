// The layout's import rules as eslint.config.js states them, checked on snippets placed where a file
// would be: a rule that silently stopped matching (a folder it forgot) lets the layout drift unseen.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

/** The rule ids ESLint reports for `code` as the file at `path` (relative to the project). */
async function findings(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

const importing = (from: string) => `import { x } from '${from}';\nexport const y = x;\n`;

describe('import boundaries', () => {
  it.each([
    ['gateway/uplink-x.ts', '../ingest/worker.ts'],
    ['ingest/engine/judges/x.ts', '../../../gateway/outbox.ts'],
    ['console/web/x.ts', '../../simulators/models/aq6.ts'],
    ['protocol/x.ts', '../standards/aqi.ts'],
    ['standards/x.ts', '../ingest/schema.ts'],
    ['tests/unit/x.test.ts', '../../cli/stack.ts'],
    ['tests/integration/x.test.ts', '../../cli/services/ports.ts'],
    ['tests/e2e/x.test.ts', '../../cli/services/ports.ts'],
  ])('%s may not import %s', async (path, from) => {
    expect(await findings(path, importing(from))).toContain('no-restricted-imports');
  });

  it.each([
    ['ingest/x.ts', '../protocol/envelope.ts'],
    ['standards/x.ts', '../protocol/time.ts'],
    ['cli/x.ts', '../gateway/outbox.ts'],
    ['tests/unit/cli-x.test.ts', '../../cli/args.ts'],
    ['tests/e2e/stack-x.test.ts', '../../cli/stack.ts'],
    ['tests/helpers/x.ts', '../../cli/services/ports.ts'],
  ])('%s may import %s', async (path, from) => {
    expect(await findings(path, importing(from))).toEqual([]);
  });

  it('refuses `as never`', async () => {
    expect(await findings('ingest/x.ts', 'export const z = 1 as never;\n')).toContain('no-restricted-syntax');
  });
});
