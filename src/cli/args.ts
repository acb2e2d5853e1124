/** Argument parsing shared by the CLI commands; every mistake is a `UsageError` (exit 2). */
// Named modules, not core/index.js: the offline commands and `--help` must not load the HTTP client (start-up time).
import { AWS_NITRO_ROOT_G1, type TrustedRoot } from '../core/attestation/roots.js';
import { pcrIndex } from '../core/attestation/policy.js';
import { InputError, type BlindBoxError } from '../core/errors.js';
import { loadRootFile } from '../core/policy.js';
import { readFileCapped } from '../core/util/read-capped.js';

/** A mistake in how the command was called, or an input file that cannot be read: exit 2. */
const USAGE_ERROR = Symbol.for('blindbox.cli.UsageError');

/**
 * A mistake in the command line (exit 2). Recognised by a registered symbol rather than by class identity: `serve` and
 * `demo` run from tsc's output beside the bundled CLI (scripts/bundle-cli.mjs), each with its own copy of this class.
 */
export class UsageError extends Error {
  readonly [USAGE_ERROR] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[USAGE_ERROR] === true;
  }
}

/** `--at`: ISO-8601 or Unix milliseconds. */
export function parseTime(value: string): Date {
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--at ${JSON.stringify(value)} is neither an ISO-8601 time nor Unix milliseconds`);
  return date;
}

/** `--pcr i=hex`, repeatable, into a policy record; the same PCR twice is a mistake, not "the last one wins". */
export function parsePcrArgs(values: readonly string[] = []): Record<number, string> {
  const out: Record<number, string> = {};
  for (const v of values) {
    const m = /^([^=]*)=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--pcr ${JSON.stringify(v)} is not of the form <index>=<hex>`);
    let index: number;
    try {
      index = pcrIndex(m[1]!);
    } catch (err) {
      throw new UsageError(`--pcr ${JSON.stringify(v)}: ${(err as Error).message}`);
    }
    if (Object.hasOwn(out, index)) throw new UsageError(`--pcr names PCR${index} twice; give each PCR once`);
    out[index] = m[2]!;
  }
  return out;
}

/** Seconds (a non-negative number) into milliseconds. */
export function parseSeconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new UsageError(`${flag} ${JSON.stringify(value)} is not a number of seconds`);
  // 1e306 s is finite but Infinity in milliseconds, which would mean "no limit".
  if (!Number.isSafeInteger(Math.round(n * 1000))) throw new UsageError(`${flag} ${JSON.stringify(value)} is too many seconds`);
  return n * 1000;
}

/** A port number, or 0 for any free port. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`--port ${JSON.stringify(value)} is not a port number`);
  return n;
}

/** Turns the core's `InputError`s (the caller's input is wrong) into usage errors; anything else passes through. */
export async function asUsage<T>(work: Promise<T> | (() => T)): Promise<T> {
  try {
    return await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/**
 * The file a command judges (a document, a receipt), read with `readFileCapped`: one it cannot read is a usage error,
 * but one over `maxBytes` is the file's fault, not the command line's, so it comes back as the verdict `tooLarge`
 * makes of its sentence ("The receipt file … is larger than 128 KiB"), reported as any other rejection (exit 1).
 */
export async function readJudgedFile<E extends BlindBoxError>(file: string, maxBytes: number, what: string, tooLarge: (message: string) => E): Promise<Buffer | E> {
  try {
    return await asUsage(readFileCapped(file, maxBytes, what));
  } catch (err) {
    const input = (err as Error).cause;
    if (err instanceof UsageError && input instanceof InputError && input.code === 'INPUT_FILE_TOO_LARGE') return tooLarge(input.message.replace(/^the /, 'The '));
    throw err;
  }
}

/** The embedded AWS root plus any root PEM files the user explicitly trusts. */
export async function trustedRoots(pemPaths: readonly string[] = []): Promise<TrustedRoot[]> {
  const extra = await asUsage(Promise.all(pemPaths.map((p) => loadRootFile(p))));
  return [AWS_NITRO_ROOT_G1, ...extra.flat()];
}
