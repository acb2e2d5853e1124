/**
 * Activation cost of the packaged extension, outside VS Code:
 *
 *   node out/support/measure-activation.js [--check] [dist/extension.cjs]
 *
 * Copies the two bundle files into an empty temporary folder (no node_modules anywhere
 * above it), loads it in this fresh process with a fake `vscode`, and prints
 * one JSON line:
 *   requireMs             parsing and evaluating dist/extension.cjs (VS Code's "code loading"; the core,
 *                         dist/extension-core.cjs, is not loaded yet)
 *   bundleEvaluationMs    the extension's own measure of its module evaluation (from the bundle banner, see bundle-extension.mjs)
 *   activateMs            the activate() call
 *   firstUseMs            the first command that needs the core (requires dist/extension-core.cjs: CBOR, X.509,
 *                         undici…)
 *   builtinsAtActivation  Node built-ins required by loading + activating
 * With --check it exits 1 when the bundle requires anything but Node built-ins
 * and `vscode`, or when activation already loads the network stack (the core
 * must stay lazy).
 */
import { builtinModules } from 'node:module';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeVscode, disposeContext, fakeContext, loadBundle } from './fake-vscode.js';

/** The lazily required second bundle, next to the entry. */
export const CORE_BUNDLE = 'extension-core.cjs';

/** Built-ins that only the lazily loaded core needs (undici's network stack). */
export const LAZY_ONLY_BUILTINS = ['node:tls', 'node:http2', 'node:dns', 'node:net', 'node:zlib', 'node:worker_threads'];

export interface ActivationFigures {
  readonly requireMs: number;
  readonly bundleEvaluationMs: number;
  readonly activateMs: number;
  readonly firstUseMs: number;
  readonly builtinsAtActivation: readonly string[];
  readonly requiredOutsideNode: readonly string[];
}

/** The extension's manifest (out/support/ → the package root). */
const MANIFEST = fileURLToPath(new URL('../../package.json', import.meta.url));

export async function measureActivation(bundlePath: string): Promise<ActivationFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-activation-'));
  try {
    const copy = path.join(dir, 'extension.cjs');
    await copyFile(bundlePath, copy);
    await copyFile(path.join(path.dirname(bundlePath), CORE_BUNDLE), path.join(dir, CORE_BUNDLE));
    // An installed extension's folder holds its manifest (VS Code reads its version from it).
    await copyFile(MANIFEST, path.join(dir, 'package.json'));
    const fake = createFakeVscode();
    const loaded = loadBundle(copy, fake);
    const context = fakeContext(dir);
    const api = loaded.activate(context);
    const atActivation = [...loaded.requested];
    const start = performance.now();
    await fake.executeCommand('blindbox.verify'); // no server set: loads the core, then reports "not configured"
    const firstUseMs = performance.now() - start;
    disposeContext(context);
    await loaded.deactivate();
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    return {
      requireMs: round(loaded.requireMs),
      bundleEvaluationMs: api.activation.bundleEvaluationMs,
      activateMs: api.activation.activateMs,
      firstUseMs: round(firstUseMs),
      builtinsAtActivation: [...new Set(atActivation.filter((m) => builtins.has(m)))].sort(),
      requiredOutsideNode: [...new Set(loaded.requested.filter((m) => !builtins.has(m) && m !== 'vscode' && m !== `./${CORE_BUNDLE}`))].sort(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (process.argv[1] && path.basename(process.argv[1]) === 'measure-activation.js') {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const bundle = args.find((a) => !a.startsWith('--')) ?? 'dist/extension.cjs';
  const figures = await measureActivation(bundle);
  process.stdout.write(JSON.stringify(figures) + '\n');
  if (check) {
    const problems = [
      ...figures.requiredOutsideNode.map((m) => `the bundle requires ${JSON.stringify(m)} at run time (the .vsix ships no node_modules)`),
      ...figures.builtinsAtActivation.filter((m) => LAZY_ONLY_BUILTINS.includes(m)).map((m) => `activation loads ${m}: the core is no longer lazy`),
    ];
    for (const p of problems) process.stderr.write(`measure-activation: ${p}\n`);
    process.exit(problems.length ? 1 : 0);
  }
}
