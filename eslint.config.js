// ESLint (flat config). typescript-eslint's `recommended` (syntactic, not type-checked: it stays fast), and the
// module boundaries as rules: who may import whom is enforced here, not in hand-kept lists.
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** The extension modules that may touch `vscode`; every other module under src/extension must run without an editor. */
export const VSCODE_FACING = ['main', 'ctx', 'config', 'status', 'panel', 'commands', 'transcribe-workflow', 'export-evidence', 'configure-server', 'setup-commands', 'trust-view'].map(
  (m) => `src/extension/${m}.ts`,
);

const VSCODE = { group: ['vscode'], message: 'Only the vscode-facing extension modules may import `vscode`.' };
const SERVER = { group: ['**/server/**', '@blindbox/server', '@blindbox/server/**'], message: 'The client never imports the server.' };
const EXTENSION = { group: ['**/extension/**'], message: 'Only the extension imports the extension.' };
const CLI = { group: ['**/cli/**'], message: 'Nothing imports the CLI.' };
const CORE = { group: ['**/core/**'], message: 'The wire contract (src/protocol) imports nothing.' };

/**
 * One directory's boundary: `no-restricted-imports` for static imports and `export … from`, and `no-restricted-syntax`
 * for `import('…')` and `require('…')`, which that rule does not see. A later config for the same files replaces these
 * options, so each entry lists everything its files may not import.
 */
function boundary(files, patterns, ignores = []) {
  const dynamic = patterns
    .filter((p) => p.group.includes('vscode'))
    .flatMap((p) => [
      { selector: "ImportExpression[source.value='vscode']", message: p.message },
      { selector: "CallExpression[callee.name='require'][arguments.0.value='vscode']", message: p.message },
    ]);
  return {
    files,
    ignores,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
      'no-restricted-syntax': dynamic.length ? ['error', ...dynamic] : 'off',
    },
  };
}

/** The boundary rules alone, in order (a test lints deliberately bad code against them). */
export const boundaries = [
  boundary(['src/core/**/*.ts'], [VSCODE, SERVER, EXTENSION, CLI]),
  boundary(['src/protocol/**/*.ts'], [VSCODE, SERVER, EXTENSION, CLI, CORE]),
  boundary(['src/server/**/*.ts'], [VSCODE, EXTENSION, CLI]),
  boundary(['src/extension/**/*.ts'], [SERVER, CLI]),
  boundary(['src/extension/**/*.ts'], [VSCODE, SERVER, CLI], VSCODE_FACING),
];

export default tseslint.config(
  {
    ignores: ['out/', 'dist/', '.tools/', '**/node_modules/', 'src/server/build/', 'test-artifacts/', 'media/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.{js,mjs,ts}'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters already report these; `_` marks what is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  ...boundaries,
);
