// ESLint (flat config). typescript-eslint's `recommended` (syntactic, not type-checked: it stays fast), and the
// module boundaries as rules: who may import whom is enforced here, not in hand-kept lists.
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Where under src/extension `vscode` may be imported, by path: the shell at the top (entry, lifetimes, command table,
 * the Verify flow) and, in each feature folder, its vscode face. Everything else runs without an editor and is
 * unit-tested as is: every `model.ts`, the trust controller (trust/), settings validation, the transcription batch,
 * the shared `common/` helpers and the lazily loaded services.
 */
export const VSCODE_FACING = [
  'src/extension/{main,ctx,commands,verification}.ts',
  'src/extension/notifications/notifications.ts',
  'src/extension/settings/reader.ts',
  'src/extension/files/{picked,beside-audio}.ts',
  'src/extension/transcribe/{command,steps,batch-output,streamed-view}.ts',
  'src/extension/receipts/{save,verify,opened-transcripts}.ts',
  'src/extension/setup/{commands,configure-server,walkthrough,pin-pcr}.ts',
  'src/extension/evidence/export.ts',
  'src/extension/diagnose/command.ts',
  'src/extension/local-endpoint/command.ts',
  'src/extension/views/status/item.ts',
  'src/extension/views/attestation/panel.ts',
  'src/extension/views/trust/tree.ts',
];

/**
 * Each forbidden target: `group` (gitignore-style globs) for `no-restricted-imports`, which sees static imports and
 * `export … from`; `source`, the same set as a regular expression for `no-restricted-syntax`, which catches `import('…')`
 * and `require('…')`. esquery's regex literals cannot contain a slash, hence `\x2F`.
 */
const VSCODE = { group: ['vscode'], source: '^vscode$', message: 'Only the vscode-facing extension modules may import `vscode`.' };
const SERVER = {
  group: ['**/server/**', '@blindbox/server', '@blindbox/server/**'],
  source: '(^|\\x2F)server(\\x2F|$)|^@blindbox\\x2Fserver',
  message: 'The client never imports the server.',
};
const EXTENSION = { group: ['**/extension/**'], source: '(^|\\x2F)extension\\x2F', message: 'Only the extension imports the extension.' };
const CLI = { group: ['**/cli/**'], source: '(^|\\x2F)cli\\x2F', message: 'Nothing imports the CLI.' };
const CORE = { group: ['**/core/**'], source: '(^|\\x2F)core\\x2F', message: 'The wire contract (src/protocol) imports nothing.' };
const CORE_FROM_SERVER = { ...CORE, message: 'The server never imports the client core: what both sides need lives in src/shared or src/protocol.' };
const CORE_FROM_SHARED = { ...CORE, message: 'Shared code (src/shared) never imports the client core.' };
const TEST = { group: ['**/test/**'], source: '(^|\\x2F)test\\x2F', message: 'Tools (bench/, scripts/) and their shared code (support/) never import test/: what both use lives in support/.' };
const SHARED = { group: ['**/shared/**'], source: '(^|\\x2F)shared\\x2F', message: 'The wire contract (src/protocol) imports nothing.' };

/**
 * One directory's boundary: `no-restricted-imports` for static imports and `export … from`, and `no-restricted-syntax`
 * for `import('…')` and `require('…')`, which that rule does not see. A later config for the same files replaces these
 * options, so each entry lists everything its files may not import.
 */
function boundary(files, targets, ignores = []) {
  const dynamic = targets.flatMap(({ source, message }) => [
    { selector: `ImportExpression[source.value=/${source}/]`, message },
    { selector: `CallExpression[callee.name='require'][arguments.0.value=/${source}/]`, message },
    { selector: `TSExternalModuleReference[expression.value=/${source}/]`, message },
  ]);
  return {
    files,
    ignores,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: targets.map(({ group, message }) => ({ group, message })) }],
      'no-restricted-syntax': ['error', ...dynamic],
    },
  };
}

/** The boundary rules alone, in order (a test lints deliberately bad code against them). */
export const boundaries = [
  boundary(['src/core/**/*.ts'], [VSCODE, SERVER, EXTENSION, CLI]),
  boundary(['src/protocol/**/*.ts'], [VSCODE, SERVER, EXTENSION, CLI, CORE, SHARED]),
  // What both sides run (strict CBOR, COSE_Sign1's structure, the text sanitiser) may use the protocol and libraries only.
  boundary(['src/shared/**/*.ts'], [VSCODE, SERVER, EXTENSION, CLI, CORE_FROM_SHARED]),
  // The server's code is measured into the enclave image: no client module may be part of it.
  boundary(['src/server/**/*.ts'], [VSCODE, EXTENSION, CLI, CORE_FROM_SERVER]),
  boundary(['src/extension/**/*.ts'], [SERVER, CLI]),
  boundary(['src/extension/**/*.ts'], [VSCODE, SERVER, CLI], VSCODE_FACING),
  // The CLI may use the core, the protocol and the server (`serve`), never the editor.
  boundary(['src/cli/**/*.ts'], [VSCODE, EXTENSION]),
  boundary(['bench/**/*.ts', 'scripts/**/*.{js,mjs,ts}', 'support/**/*.ts'], [TEST]),
];

export default tseslint.config(
  {
    ignores: ['out/', 'dist/', '.tools/', '**/node_modules/', 'src/server/build/', 'test-artifacts/', 'media/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'support/**/*.ts', 'scripts/**/*.{js,mjs,ts}'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters already report these; `_` marks what is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  ...boundaries,
);
