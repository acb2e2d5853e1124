/**
 * The CLI bundle (scripts/bundle-cli.mjs: out/bundle/cli/blindbox.cjs, one CommonJS file of cli.ts and all it loads),
 * compiled with a V8 code cache made beside it at build time (scripts/cli-code-cache.mjs). Node 20 keeps no compile
 * cache of its own, and most of what a client command costs beyond Node's own start is V8 compiling the code it loads
 * and runs once (asn1js, cbor-x, undici, the core): from the cache, those functions arrive compiled. V8 takes the
 * cache only for this Node's V8 version, the flags it was made under and this very source; otherwise it compiles
 * afresh, so a stale or foreign cache costs its read and nothing else. The cache is made with the package's code and
 * lies beside it: it is as trusted as the bundle, and nothing writes it at run time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { main } from './cli.js';
import { wantsHelp } from './flags.js';

/**
 * Commands that run from tsc's output instead: the server starts worker threads and native addons by path and
 * measures its own code files into the attestation (`demo` runs `serve`).
 */
export const UNBUNDLED_COMMANDS: ReadonlySet<string> = new Set(['serve', 'demo']);

/** The bundle's file. */
export const BUNDLE_FILE = fileURLToPath(new URL('../../bundle/cli/blindbox.cjs', import.meta.url));

/**
 * The code caches made at build time, each by a process that ran one command: a cache holds what its run compiled,
 * so `verify-doc` does not read undici's compiled code, and what a run never compiled stays lazily compiled.
 */
export const CODE_CACHES = ['help', 'verify', 'verify-doc'] as const;
export type CodeCache = (typeof CODE_CACHES)[number];

/** Which cache a command starts from: its own, or that of the command whose code it shares most. */
const CACHE_OF: Readonly<Record<string, CodeCache>> = {
  verify: 'verify',
  transcribe: 'verify',
  proxy: 'verify',
  diagnose: 'verify',
  'verify-doc': 'verify-doc',
  'verify-receipt': 'verify-doc',
  'verify-evidence': 'verify-doc',
};

/** The cache `argv` starts from (any `--help`, `--version`, an unknown command: the help cache). */
export function codeCacheFor(argv: readonly string[]): CodeCache {
  return wantsHelp(argv) ? 'help' : (CACHE_OF[argv[0] ?? ''] ?? 'help');
}

/** The file of one code cache. */
export function codeCacheFile(cache: CodeCache): string {
  return `${BUNDLE_FILE}.${cache}.cache`;
}

/** The bundle, loaded. */
export interface LoadedBundle {
  /** cli.ts's `main`, from the bundle. */
  readonly main: typeof main;
  /** The compiled bundle, whose `createCachedData()` is the code cache. */
  readonly script: vm.Script;
  /** Whether a code cache was read and V8 took it. */
  readonly cached: boolean;
}

/** Compiles and runs the bundle's module code (its commands load when run), from the code cache `cache` if given. */
export function loadBundle(cache: CodeCache | undefined): LoadedBundle {
  let source: string;
  try {
    source = readFileSync(BUNDLE_FILE, 'latin1'); // ASCII only (bundle-cli.mjs checks), so no UTF-8 decoding
  } catch (err) {
    throw new Error(`the blindbox CLI is not built (${BUNDLE_FILE}: ${(err as NodeJS.ErrnoException).code ?? String(err)}): run npm run build`, { cause: err });
  }
  const cachedData = cache ? readIfPresent(codeCacheFile(cache)) : undefined;
  // Node's own CommonJS wrapper, so the bundle runs exactly as `require` would run it.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE_FILE,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as { main?: typeof main } };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(BUNDLE_FILE), module, BUNDLE_FILE, path.dirname(BUNDLE_FILE));
  if (typeof module.exports.main !== 'function') throw new Error(`${BUNDLE_FILE} does not export main: run npm run build`);
  return { main: module.exports.main, script, cached: cachedData !== undefined && !script.cachedDataRejected };
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
