/**
 * What `bin/blindbox.js` runs: `serve` and `demo` unbundled from tsc's output (main.ts), every other command from the
 * bundle and its code cache (bundle.ts), which is what a person typing `blindbox verify …` waits for. V8's flags are
 * part of what a code cache must match, so the one this process needs (baseline-wasm.ts) is set before the bundle is
 * compiled, as it was when the cache was made.
 */
import { baselineWasmOnly } from './baseline-wasm.js';
import { codeCacheFor, loadBundle, UNBUNDLED_COMMANDS } from './bundle.js';
import { EXIT_INTERNAL } from './exit-codes.js';

const argv = process.argv.slice(2);
if (UNBUNDLED_COMMANDS.has(argv[0] ?? '')) {
  await import('./main.js');
} else {
  baselineWasmOnly();
  let bundle;
  try {
    bundle = loadBundle(codeCacheFor(argv));
  } catch (err) {
    process.stderr.write(`blindbox: ${(err as Error).message}\n`);
    process.exit(EXIT_INTERNAL);
  }
  process.exitCode = await bundle.main(argv);
}
