/**
 * What `bin/blindbox.cjs` runs, as its own small CommonJS bundle (scripts/bundle-cli.mjs: out/bundle/cli/launch.cjs),
 * so that no command pays for Node's ES-module loader: `serve` and `demo` unbundled from tsc's output (main.ts), every
 * other command from the CLI bundle and its code cache (bundle.ts), which is what a person typing `blindbox verify …`
 * waits for. V8's flags are part of what a code cache must match, so the one this process needs (baseline-wasm.ts) is
 * set before the bundle is compiled, as it was when the cache was made.
 */
import { baselineWasmOnly } from './baseline-wasm.js';
import { codeCacheFor, loadBundle, UNBUNDLED_COMMANDS } from './bundle.js';
import { EXIT_INTERNAL } from './exit-codes.js';

async function launch(argv: string[]): Promise<void> {
  if (UNBUNDLED_COMMANDS.has(argv[0] ?? '')) {
    // The launcher bundle sits as deep as out/src/cli/launch.js, so this names tsc's main.js from either.
    await import(new URL('../../src/cli/main.js', import.meta.url).href);
    return;
  }
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

void launch(process.argv.slice(2));
