/**
 * Who may import whom is enforced by ESLint (eslint.config.js, `npm run lint`), not by lists kept here. These tests
 * run the repository's own ESLint configuration over deliberately bad modules, so a rule that stops matching (a
 * pattern typo, a later config silently replacing an earlier one's options) fails here rather than letting an import
 * through: the protocol depends on nothing, shared code (src/shared) on the protocol only, the client (core, extension)
 * never reaches into the server, the server never into the client core, the extension or the CLI, the CLI never into
 * the editor, only the vscode-facing extension modules touch `vscode`, and the tools (bench/, scripts/) and their
 * shared code (support/) never import test/; `import()` and `require()` included.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: REPO });

/** The boundary-rule messages for `code` as if it were the module at `file` (relative to the repository). */
async function violations(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: REPO + file });
  return result!.messages
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports' || m.ruleId === 'no-restricted-syntax' || m.fatal)
    .map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

const refused = async (file: string, code: string) => assert.notDeepEqual(await violations(file, code), [], `${file} should refuse: ${code}`);
/** Each of `specs`, imported by name from the module at `file`, is refused. */
const refusedImports = async (file: string, specs: readonly string[]) => {
  for (const spec of specs) await refused(file, `import { a } from '${spec}'; export { a };`);
};
const allowed = async (file: string, code: string) => assert.deepEqual(await violations(file, code), [], `${file} should allow: ${code}`);

/** Where `vscode` may be imported, by path (globs with at most one `{a,b}` group): the one list, in eslint.config.js. */
const VSCODE_FACING = ((await import(pathToFileURL(REPO + 'eslint.config.js').href)) as { VSCODE_FACING: string[] }).VSCODE_FACING;

/** The files a VSCODE_FACING entry names. */
function expand(glob: string): string[] {
  const group = /\{([^}]*)\}/.exec(glob);
  return group ? group[1]!.split(',').map((alt) => glob.replace(group[0], alt)) : [glob];
}

const IMPORT_VSCODE = "import * as vscode from 'vscode'; export { vscode };";

describe('module boundaries (ESLint rules)', () => {
  it('bench/, scripts/ and support/ never import test/ (what they share with the tests lives in support/)', async () => {
    await allowed('bench/x.ts', "import { a } from '../support/speech.js'; import { describe } from 'node:test'; export { a, describe };");
    await allowed('support/x.ts', "import { a } from '../src/core/index.js'; import { b } from './speech.js'; export { a, b };");
    await refusedImports('bench/x.ts', ['../test/helpers/speech.js', '../test/extension/helpers.js']);
    await refusedImports('support/x.ts', ['../test/helpers/nsm-stand-in.js']);
    await refused('scripts/x.mjs', "export { a } from '../test/helpers/speech.js';");
    await refused('scripts/e2e/x.ts', "export const load = () => import('../../test/e2e/harness.js');");
  });

  it('src/protocol imports nothing but itself', async () => {
    await allowed('src/protocol/x.ts', "import { a } from './limits.js'; export { a };");
    await refusedImports('src/protocol/x.ts', ['vscode', '../core/index.js', '../server/app.js', '../extension/ids.js', '../cli/main.js', '@blindbox/server']);
    await refused('src/protocol/x.ts', "export type { A } from '../core/index.js';");
  });

  it('src/core never imports vscode, the server, the extension or the CLI', async () => {
    await allowed('src/core/attestation/x.ts', "import { a } from '../../protocol/index.js'; export { a };");
    await refusedImports('src/core/attestation/x.ts', ['vscode', '../../server/app.js', '../../extension/ids.js', '../../cli/main.js']);
    await refused('src/core/x.ts', "import 'vscode';");
    await refused('src/core/x.ts', "import type * as v from 'vscode'; export type V = typeof v;");
    await refused('src/core/x.ts', "export const load = () => import('vscode');");
    await refused('src/core/x.ts', "import v = require('vscode'); export { v };");
  });

  it('the server never imports vscode, the client core, the extension or the CLI (it may use the protocol and shared code)', async () => {
    await allowed('src/server/http/x.ts', "import { a } from '../../shared/cbor.js'; import { b } from '../../protocol/index.js'; export { a, b };");
    await refusedImports('src/server/http/x.ts', ['vscode', '../../core/index.js', '../../core/attestation/cbor.js', '../../extension/ids.js', '../../cli/main.js']);
    await refused('src/server/attestation/nsm/x.ts', "export { AttestationError } from '../../../core/errors.js';");
    await refused('src/server/http/x.ts', "import type { BlindBoxError } from '../../core/errors.js'; export type E = BlindBoxError;");
    await refused('src/server/http/x.ts', "export const load = () => import('../../core/util/hex.js');");
    await refused('src/server/http/x.ts', "export const load = () => require('../../core/errors.js');");
  });

  it('shared code imports the protocol and libraries, never either side', async () => {
    await allowed('src/shared/x.ts', "import { a } from '../protocol/limits.js'; import { Decoder } from 'cbor-x'; import { b } from './text.js'; export { a, b, Decoder };");
    await refusedImports('src/shared/x.ts', ['vscode', '../core/errors.js', '../server/app.js', '../extension/ids.js', '../cli/main.js', '@blindbox/server']);
    await refused('src/shared/x.ts', "export const load = () => import('../core/index.js');");
    await refused('src/protocol/x.ts', "import { a } from '../shared/cbor.js'; export { a };");
  });

  it('the extension never imports the server or the CLI', async () => {
    for (const file of ['src/extension/main.ts', 'src/extension/views/attestation/model.ts'])
      for (const spec of ['../server/app.js', '../../../server/app.js', '@blindbox/server', '../cli/main.js', '../../../cli/main.js']) await refused(file, `import { a } from '${spec}'; export { a };`);
    await allowed('src/extension/views/attestation/model.ts', "import { a } from '../../../core/index.js'; export { a };");
  });

  it('only the shell and each feature folder\'s vscode face touch `vscode`; models, trust and new modules do not', async () => {
    for (const file of VSCODE_FACING.flatMap(expand)) await allowed(file, IMPORT_VSCODE);
    for (const file of ['src/extension/views/attestation/model.ts', 'src/extension/trust/controller.ts', 'src/extension/transcribe/batch.ts', 'src/extension/services.ts', 'src/extension/new-module.ts', 'src/extension/views/new-view/model.ts']) {
      await refused(file, IMPORT_VSCODE);
      await refused(file, "export const load = () => import('vscode');");
    }
  });

  it('dynamic import() and require() obey the same boundaries as static imports', async () => {
    await refused('src/core/x.ts', "export const load = () => import('../server/app.js');");
    await refused('src/core/x.ts', "export const load = () => import('@blindbox/server');");
    await refused('src/protocol/x.ts', "export const load = () => import('../core/index.js');");
    await refused('src/server/x.ts', "export const load = () => require('../extension/ids.js');");
    await refused('src/extension/views/attestation/model.ts', "export const load = () => import('../../../cli/main.js');");
    // Not every path containing the word is a boundary: only whole directory names count.
    await allowed('src/core/x.ts', "export const load = () => import('./observer.js');");
    await allowed('src/extension/main.ts', "export const load = () => import('./services.js');");
  });

  it('the CLI may use the core and the server but never the editor', async () => {
    await allowed('src/cli/x.ts', "import { a } from '../core/index.js'; import { b } from '../server/app.js'; export { a, b };");
    for (const spec of ['vscode', '../extension/ids.js']) await refused('src/cli/x.ts', `import { a } from '${spec}'; export { a };`);
    await refused('src/cli/x.ts', "export const load = () => import('vscode');");
  });

  it('the vscode-facing paths name exactly the extension modules that do import vscode', async () => {
    assert.ok(VSCODE_FACING.flatMap(expand).includes('src/extension/main.ts'));
    for (const file of VSCODE_FACING.flatMap(expand)) assert.ok(existsSync(REPO + file), file);
    const modules = readdirSync(REPO + 'src/extension', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(modules.length > 30);
    for (const f of modules) {
      const file = `src/extension/${f}`;
      // A module that imports vscode is allowed to; one that does not sits on a path where it would be refused.
      if (/from 'vscode'/.test(readFileSync(REPO + file, 'utf8'))) await allowed(file, IMPORT_VSCODE);
      else await refused(file, IMPORT_VSCODE);
    }
  });
});
