/**
 * Records every module a process loads, by URL, one per line into the file named by BLINDBOX_MODULE_TRACE: start the
 * process with `node --import <this compiled file> …` (runCliTracingModules in cli.ts does). Module hooks see each
 * ES module and each CommonJS package entered by `import` (not the files a package then require()s itself).
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

type LoadHook = (url: string, context: object, next: (url: string, context: object) => Promise<unknown>) => Promise<unknown>;

let traceFile: string | undefined;

// The hooks run on a thread of their own, which imports this file again: only the main thread registers them.
if (isMainThread && process.env.BLINDBOX_MODULE_TRACE) register(import.meta.url, { data: process.env.BLINDBOX_MODULE_TRACE });

/** Module-hooks entry: receives the trace file's name. */
export function initialize(file: string): void {
  traceFile = file;
}

/** Module-hooks entry: notes the module, then loads it as Node would. */
export const load: LoadHook = async (url, context, next) => {
  if (traceFile !== undefined) appendFileSync(traceFile, url + '\n');
  return next(url, context);
};
