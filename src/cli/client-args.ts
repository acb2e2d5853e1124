/** Arguments of the client commands that the client core judges (PCRs, input files, trusted roots), as `UsageError`s. */
// Named modules, not core/index.js: the offline commands and `--help` must not load the HTTP client (start-up time).
import { AWS_NITRO_ROOT_G1, type TrustedRoot } from '../core/attestation/roots.js';
import { pcrIndex } from '../core/attestation/policy.js';
import { InputError, type BlindBoxError } from '../core/errors.js';
import { loadRootFile } from '../core/policy.js';
import { readFileCapped } from '../core/util/read-capped.js';
import { UsageError } from './args.js';

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
