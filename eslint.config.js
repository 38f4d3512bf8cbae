// Lint and the layout's import rules (docs/architecture.md): a component never imports another; what
// two share lives in protocol/ or standards/. `npm test` runs this with zero findings allowed.
import tseslint from 'typescript-eslint';

const COMPONENTS = ['gateway', 'broker', 'ingest', 'simulators', 'console', 'cli'];
/** Import patterns that reach into the named folders. */
const into = (...folders) =>
  folders.flatMap((f) => [
    `../${f}/*`,
    `../../${f}/*`,
    `../../../${f}/*`,
    `../${f}/**`,
    `../../${f}/**`,
    `../../../${f}/**`,
  ]);
const only = (folder, allowed, why) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: into(
              ...[...COMPONENTS, 'standards', 'protocol', 'bench', 'tests'].filter(
                (f) => f !== folder && !allowed.includes(f),
              ),
            ),
            message: why,
          },
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'console/web/dist/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSAsExpression > TSNeverKeyword', message: 'no `as never`: give the value its type' },
      ],
    },
  },
  only('protocol', [], 'protocol/ holds the wire formats and imports nothing of ours'),
  only('standards', ['protocol'], 'standards/ may import protocol/ only'),
  only('gateway', ['protocol', 'standards'], 'a component imports only protocol/ and standards/'),
  only('broker', ['protocol', 'standards'], 'a component imports only protocol/ and standards/'),
  only('ingest', ['protocol', 'standards'], 'a component imports only protocol/ and standards/'),
  only('simulators', ['protocol', 'standards'], 'a component imports only protocol/ and standards/'),
  only('console', ['protocol', 'standards'], 'a component imports only protocol/ and standards/'),
  {
    // Tests take their helpers from tests/helpers/; only the command's own tests reach into cli/.
    files: ['tests/unit/**/*.ts', 'tests/integration/**/*.ts', 'tests/e2e/**/*.ts'],
    ignores: ['tests/**/cli*.test.ts', 'tests/**/stack*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: into('cli', 'bench'), message: 'take test helpers from tests/helpers/' }] },
      ],
    },
  },
);
