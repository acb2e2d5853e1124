#!/usr/bin/env node
/**
 * `npm run build` (after tsc): the `blindbox` command line as one CommonJS file, and V8's code caches of it.
 *
 *   out/bundle/cli/blindbox.cjs               src/cli/cli.ts (exports `main`) and everything its commands load
 *   out/bundle/cli/blindbox.cjs.<name>.cache  V8's code caches of it (scripts/cli-code-cache.mjs; src/cli/bundle.ts)
 *   out/bundle/cli/blindbox.cjs.LEGAL.txt     the bundled packages' licence comments
 *   out/bundle/cli/launch.cjs                 src/cli/launch.ts alone, what bin/blindbox.cjs runs: it compiles the
 *                                             bundle from a cache (or hands serve and demo to tsc's output)
 *
 * Why each choice:
 * - CommonJS from the bin file on: an ES-module entry starts Node's ES-module loader, about 0.1 x of a bare Node start.
 * - One CommonJS file: Node 20 caches no compiled code, and V8's code cache (node:vm's cachedData) serves scripts,
 *   not ES modules. Each command's modules stay behind its import() (esbuild evaluates them when it runs), so
 *   `verify-doc` still runs no HTTP client code.
 * - `serve` and `demo` stay unbundled (launch.ts runs them from tsc's output): the server starts worker threads and
 *   native addons by path and measures its own code files into the attestation.
 * - Both files sit three folders deep, as out/src/cli/cli.js does, and `import.meta.url` is the file's own URL, so
 *   what they find by relative URL (the version in the nearest package.json above, the bundle, tsc's main.js) is found
 *   from either.
 * - `undici` is its Client alone (undici-client.cjs): the core uses nothing else, and undici's index loads much more;
 *   and HTTP/1.1 alone (undici-no-h2.cjs): the core's connections offer no ALPN, and node:http2 costs every start.
 * - Identifiers are kept (whitespace and syntax minified only), so an internal error's stack stays readable.
 * - ASCII only, so launch reads it without decoding UTF-8 (the licence comments, which name people, go beside it).
 * - Fails on any esbuild warning, when the bundle contains server code or node:http2, when it is not ASCII, and when
 *   the code caches cannot be made.
 */
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { noNativeCbor } from './no-native-cbor.mjs';
import { UNBUNDLED_COMMANDS } from '../out/src/cli/bundle.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const UNDICI_CLIENT = fileURLToPath(new URL('./undici-client.cjs', import.meta.url));
const UNDICI_NO_H2 = fileURLToPath(new URL('./undici-no-h2.cjs', import.meta.url));

// The names undici-client.cjs gives must be undici's own (an upgrade that moved one fails here, not at run time).
{
  const require = createRequire(import.meta.url);
  const client = require(UNDICI_CLIENT); // first: undici's index would attach the Dispatcher API itself
  const api = ['request', 'stream', 'connect'].every((method) => typeof client.Client.prototype[method] === 'function');
  const whole = require('undici');
  const differ = Object.keys(client).filter((name) => client[name] !== whole[name]);
  if (!api || differ.length) {
    console.error(`bundle-cli: scripts/undici-client.cjs no longer matches undici (${differ.join(', ') || 'Dispatcher API'})`);
    process.exit(1);
  }
}

/** @type {import('esbuild').Plugin} */
const undiciClient = {
  name: 'undici-client',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: UNDICI_CLIENT }));
    b.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) => (args.importer.endsWith(path.join('undici', 'lib', 'dispatcher', 'client.js')) ? { path: UNDICI_NO_H2 } : undefined));
  },
};
/** Commands that run from tsc's output rather than the bundle, by the path cli.ts imports them with. */
const UNBUNDLED = new Set([...UNBUNDLED_COMMANDS].map((name) => `./${name}.js`));

/** @type {import('esbuild').Plugin} */
const unbundledCommands = {
  name: 'unbundled-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) =>
      args.kind === 'dynamic-import' && UNBUNDLED.has(args.path) ? { path: `../../src/cli/${args.path.slice(2)}`, external: true } : undefined,
    );
  },
};

// An earlier build's files (a stale cache, the chunks of an older layout) must not stay beside this one's.
rmSync(new URL('../out/bundle/cli/', import.meta.url), { recursive: true, force: true });

/** What both files share: CommonJS for Node 20, `import.meta.url` the file's own URL, warnings collected. */
const COMMON = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  metafile: true,
  logLevel: 'silent',
  define: { 'import.meta.url': '__blindboxModuleUrl' },
  banner: { js: "var __blindboxModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

const launcher = await build({ ...COMMON, entryPoints: ['src/cli/launch.ts'], outfile: 'out/bundle/cli/launch.cjs' });

const result = await build({
  ...COMMON,
  entryPoints: ['src/cli/cli.ts'],
  outfile: 'out/bundle/cli/blindbox.cjs',
  legalComments: 'external', // out/bundle/cli/blindbox.cjs.LEGAL.txt: the licences name people in UTF-8
  plugins: [unbundledCommands, undiciClient, noNativeCbor],
});

const problems = [...launcher.warnings, ...result.warnings].map((w) => `warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
// The launcher runs before any command: only src/cli's own small modules, no package, nothing a command needs.
const launcherInputs = Object.keys(launcher.metafile.inputs).filter((f) => !/^src\/cli\/[\w-]+\.ts$/.test(f));
if (launcherInputs.length) problems.push(`the launcher bundle loads more than src/cli's launch modules: ${launcherInputs.join(', ')}`);
// busboy is the client's too (`proxy` receives its callers' uploads with it), so it does not mark server code.
const server = Object.keys(result.metafile.inputs).filter((f) => /^src\/server\/|node_modules\/(audio-decode|@alexanderolsen)\//.test(f));
if (server.length) problems.push(`the CLI bundle contains server code (serve must stay unbundled): ${server.join(', ')}`);
if (!Object.keys(result.metafile.inputs).includes(path.relative(root, UNDICI_NO_H2))) problems.push("undici no longer imports ./client-h2.js: update scripts/undici-no-h2.cjs's place in bundle-cli.mjs");
const bundled = readFileSync(path.join(root, 'out/bundle/cli/blindbox.cjs'));
if (bundled.includes('node:http2')) problems.push('the CLI bundle loads node:http2');
// src/cli/bundle.ts reads the bundle as Latin-1, which is UTF-8's own reading of ASCII, without decoding it.
const nonAscii = bundled.findIndex((byte) => byte > 0x7f);
if (nonAscii !== -1) problems.push(`the CLI bundle is not ASCII (byte ${nonAscii}: ${JSON.stringify(bundled.subarray(Math.max(0, nonAscii - 40), nonAscii + 10).toString())}); escape the character in its source`);
for (const p of problems) console.error(p);
if (problems.length) {
  console.error('bundle-cli: refusing to produce a bundle that may misbehave');
  process.exit(1);
}
const outputs = [...Object.entries(launcher.metafile.outputs), ...Object.entries(result.metafile.outputs)];
const kib = outputs.reduce((sum, [, o]) => sum + o.bytes, 0) / 1024;
const cache = spawnSync(process.execPath, [fileURLToPath(new URL('./cli-code-cache.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (cache.status !== 0) {
  console.error('bundle-cli: the code cache could not be made');
  process.exit(1);
}
console.log(`out/bundle/cli: ${kib.toFixed(0)} KiB, ${cache.stdout.trim()}`);
