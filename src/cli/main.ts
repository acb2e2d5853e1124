/**
 * The `blindbox` process from tsc's output, unbundled: what the enclave image runs (`node out/src/cli/main.js serve`),
 * and what launch.ts hands `serve` and `demo` to. Every command but `serve` compiles WebAssembly with V8's baseline
 * compiler only (baseline-wasm.ts); the server's audio decoders must reach full speed.
 */
import { baselineWasmOnly } from './baseline-wasm.js';
import { main } from './cli.js';

const argv = process.argv.slice(2);
if (argv[0] !== 'serve') baselineWasmOnly();
process.exitCode = await main(argv);
