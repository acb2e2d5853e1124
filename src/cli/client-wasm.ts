/**
 * The one WebAssembly module a client command compiles is undici's HTTP parser (llhttp), which then reads a few short
 * answers with a handful of its functions. On Node 20, V8 compiles every function of a module when the module is
 * compiled and optimises each on background threads, about 150 ms of CPU: more than the rest of a live `blindbox
 * verify` beyond loading its code (bench/startup.ts). Under these flags V8 compiles a function when it is first called
 * (lazy compilation), with its baseline compiler (Liftoff) only. V8 reads them when it compiles a module, so setting
 * them before the first connection is enough; a code cache of the bundle is valid only under the flags it was made
 * with, so launch.ts sets them before it compiles the bundle. Not for `serve`, whose workers decode audio in
 * WebAssembly and must reach full speed.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flags of every client command (every command but `serve`). */
export const CLIENT_WASM_FLAGS: readonly string[] = ['--liftoff-only', '--wasm-lazy-compilation'];

/** Compiles WebAssembly modules compiled from now on in this process lazily, with V8's baseline compiler only. */
export function useClientWasmFlags(): void {
  for (const flag of CLIENT_WASM_FLAGS) setFlagsFromString(flag);
}
