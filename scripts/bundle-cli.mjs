#!/usr/bin/env node
/**
 * `npm run build` (after tsc): the `blindbox` command line as an ES-module bundle that bin/blindbox.js starts.
 *
 *   out/bundle/cli/main.mjs        src/cli/main.ts: argument parsing, `--help`, `--version`
 *   out/bundle/cli/chunks/*.mjs    each command and the core modules it needs, imported when that command runs
 *
 * Node resolves, reads and compiles a few files instead of dozens of modules, and a command loads only its own chunks
 * (verify-doc: no HTTP client). Why each choice:
 * - ESM with code splitting: main.ts already imports each command with import(), so each becomes its own chunk.
 * - `serve` and `demo` stay unbundled (they import ../../src/cli/*.js, compiled by tsc next to this folder): the
 *   server starts worker threads and native addons by path and measures its own code files into the attestation.
 * - The bundle sits three folders deep, as out/src/cli/main.js does, so `new URL('../../../package.json',
 *   import.meta.url)` (the version) names the same file from either.
 * - `undici` is its Client alone (undici-client.cjs): the core uses nothing else, and undici's index loads much more.
 * - Identifiers are kept (whitespace and syntax minified only), so an internal error's stack stays readable.
 * - Fails on any esbuild warning and when the bundle contains server code.
 */
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { noNativeCbor } from './no-native-cbor.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const UNDICI_CLIENT = fileURLToPath(new URL('./undici-client.cjs', import.meta.url));

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
  },
};
/** Commands that run from tsc's output rather than the bundle, by the path main.ts imports them with. */
const UNBUNDLED = new Set(['./serve.js', './demo.js']);

/** @type {import('esbuild').Plugin} */
const unbundledCommands = {
  name: 'unbundled-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/(serve|demo)\.js$/ }, (args) =>
      args.kind === 'dynamic-import' && UNBUNDLED.has(args.path) ? { path: `../../src/cli/${args.path.slice(2)}`, external: true } : undefined,
    );
  },
};

// Chunk names carry a content hash: an earlier build's chunks would stay beside this one's, unused.
rmSync(new URL('../out/bundle/cli/', import.meta.url), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir: 'out/bundle/cli',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'silent',
  plugins: [unbundledCommands, undiciClient, noNativeCbor],
  // Bundled CommonJS packages (asn1js, undici…) call require() for Node's built-ins: give the ES module one.
  banner: { js: "import { createRequire as __blindboxRequire } from 'node:module'; const require = __blindboxRequire(import.meta.url);" },
});

const problems = result.warnings.map((w) => `warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
// busboy is the client's too (`proxy` receives its callers' uploads with it), so it does not mark server code.
const server = Object.keys(result.metafile.inputs).filter((f) => /^src\/server\/|node_modules\/(audio-decode|@alexanderolsen)\//.test(f));
if (server.length) problems.push(`the CLI bundle contains server code (serve must stay unbundled): ${server.join(', ')}`);
for (const p of problems) console.error(p);
if (problems.length) {
  console.error('bundle-cli: refusing to produce a bundle that may misbehave');
  process.exit(1);
}
const outputs = Object.entries(result.metafile.outputs);
const kib = outputs.reduce((sum, [, o]) => sum + o.bytes, 0) / 1024;
console.log(`out/bundle/cli: ${outputs.length} files, ${kib.toFixed(0)} KiB`);
