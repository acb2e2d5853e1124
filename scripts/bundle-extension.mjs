#!/usr/bin/env node
/**
 * `npm run bundle`: the VS Code extension as two CommonJS files.
 *
 *   dist/extension.cjs       the entry point (package.json "main"): activation, status bar, commands, webview panel.
 *   dist/extension-core.cjs  src/extension/services.ts and the whole client core behind it (CBOR, X.509, undici, multipart),
 *                            required on first use only. Startup parses ~30 KiB instead of ~1 MiB.
 *
 * - `.cjs`, because package.json says "type": "module": VS Code (like Node) would load a `.js` entry as ESM.
 * - Everything but `vscode` is bundled (cbor-x, pkijs, asn1js, undici, form-data-encoder…), so the .vsix runs with
 *   no node_modules.
 * - cbor-x's optional native accelerator is replaced by an empty module (no-native-cbor.mjs).
 * - No source maps in the package; license comments are kept at the end of each file.
 * - The entry bundle's first statement notes the time (the banner below): the start of the extension's own module
 *   evaluation, which main.ts reports as `bundleEvaluationMs` (the activation benchmark reads it). A banner runs
 *   first whatever the import order; at the top of a CommonJS module it is local to the module, not a global.
 * - Fails on any esbuild warning, when the entry bundle contains the core (the split must hold), and when either
 *   bundle contains server code (src/server/ or its dependencies).
 *
 * Options: --outdir <dir> (default dist; tests bundle into a temporary folder), --metafile (writes <outdir>/*.meta.json).
 */
import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noNativeCbor } from './no-native-cbor.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 ? path.resolve(process.argv[outdirFlag + 1]) : path.join(root, 'dist');
const LAZY_OUT = './extension-core.cjs';
/** Read by src/extension/main.ts (declared there); never renamed, since the minifier leaves free identifiers alone. */
const EVALUATION_START = 'var __blindboxBundleStart=performance.now();';

/** In the entry bundle, `import('./services.js')` becomes `require('./extension-core.cjs')`, resolved next to it at run time. */
/** @type {import('esbuild').Plugin} */
const lazyCoreExternal = {
  name: 'lazy-core-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/services\.js$/ }, (args) => (args.kind === 'dynamic-import' ? { path: LAZY_OUT, external: true } : undefined));
  },
};

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['vscode'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'silent',
  // import() → Promise.resolve().then(() => require()): the extension host loads CommonJS.
  supported: { 'dynamic-import': false },
};

const results = await Promise.all([
  build({ ...common, entryPoints: ['src/extension/main.ts'], outfile: path.join(outdir, 'extension.cjs'), plugins: [lazyCoreExternal], banner: { js: EVALUATION_START } }),
  build({ ...common, entryPoints: ['src/extension/services.ts'], outfile: path.join(outdir, 'extension-core.cjs'), plugins: [noNativeCbor] }),
]);

const problems = [];
for (const r of results) for (const w of r.warnings) problems.push(`warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
const entryInputs = Object.keys(results[0].metafile.inputs);
const leaked = entryInputs.filter((f) => /node_modules|src\/core\/(index|transport|attestation\/(cbor|cose|chain|verify))/.test(f));
if (leaked.length) problems.push(`the entry bundle contains modules that must stay lazy: ${leaked.join(', ')}`);
// The extension is a client: the reference server (and its dependencies) must never reach the .vsix.
for (const r of results) {
  // busboy is the client's too (the local endpoint receives its callers' uploads with it), so it does not mark server code.
  const server = Object.keys(r.metafile.inputs).filter((f) => /^src\/server\/|node_modules\/(audio-decode|@alexanderolsen)\//.test(f));
  if (server.length) problems.push(`a bundle contains server code: ${server.join(', ')}`);
}
for (const p of problems) console.error(p);
if (problems.length) {
  console.error('bundle-extension: refusing to produce a bundle that may misbehave');
  process.exit(1);
}
if (process.argv.includes('--metafile')) {
  await mkdir(outdir, { recursive: true });
  await writeFile(path.join(outdir, 'extension.meta.json'), JSON.stringify(results[0].metafile));
  await writeFile(path.join(outdir, 'extension-core.meta.json'), JSON.stringify(results[1].metafile));
}
for (const [r, name] of [[results[0], 'extension.cjs'], [results[1], 'extension-core.cjs']]) {
  const [file, out] = Object.entries(r.metafile.outputs).find(([f]) => f.endsWith(name));
  const external = [...new Set(out.imports.filter((i) => i.external).map((i) => i.path))].sort();
  console.log(`${path.relative(root, path.resolve(root, file))}: ${(out.bytes / 1024).toFixed(0)} KiB; requires at run time: ${external.join(', ')}`);
}
