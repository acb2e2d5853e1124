/**
 * The one WebAssembly module a client command compiles is undici's HTTP parser (llhttp), which then reads a few short
 * answers. On Node 20, V8 optimises every function of it at compile time on background threads, about 150 ms of CPU:
 * more than the rest of a live `blindbox verify` beyond loading its code (bench/startup.ts). Liftoff, V8's baseline
 * compiler, alone compiles it at once (lazily as well, `--wasm-lazy-compilation`, measured 4–8 ms slower per verify once
 * the bundle comes from its code cache). V8 reads the flag when it compiles a module, so setting it before the first
 * connection is enough. Not for `serve`, whose workers decode audio in WebAssembly and must reach full speed.
 */
import { setFlagsFromString } from 'node:v8';

/** Compiles WebAssembly modules compiled from now on in this process with V8's baseline compiler only. */
export function baselineWasmOnly(): void {
  setFlagsFromString('--liftoff-only');
}
