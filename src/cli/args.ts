/** Argument parsing shared by the CLI commands; every mistake is a `UsageError` (exit 2). */
import { readFileSync } from 'node:fs';
import { AWS_NITRO_ROOT_G1, trustedRootsFromPem, type TrustedRoot } from '../core/index.js';

/** A mistake in how the command was called, or an input file that cannot be read: exit 2. */
export class UsageError extends Error {}

/** `--at`: ISO-8601 or Unix milliseconds. */
export function parseTime(value: string): Date {
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--at ${JSON.stringify(value)} is neither an ISO-8601 time nor Unix milliseconds`);
  return date;
}

/** `--pcr i=hex`, repeatable, into a policy record. */
export function parsePcrArgs(values: readonly string[] = []): Record<number, string> {
  const out: Record<number, string> = {};
  for (const v of values) {
    const m = /^(\d{1,2})=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--pcr ${JSON.stringify(v)} is not of the form <index>=<hex>`);
    out[Number(m[1])] = m[2]!;
  }
  return out;
}

/** Seconds (a non-negative number) into milliseconds. */
export function parseSeconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new UsageError(`${flag} ${JSON.stringify(value)} is not a number of seconds`);
  return n * 1000;
}

/** Reads a file or fails with a usage error that names it. */
export function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The embedded AWS root plus any root PEM files the user explicitly trusts. */
export function trustedRoots(pemPaths: readonly string[] = []): TrustedRoot[] {
  const roots = [AWS_NITRO_ROOT_G1];
  for (const path of pemPaths) {
    try {
      roots.push(...trustedRootsFromPem(readInput(path, 'root certificate').toString('utf8'), path));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`the root certificate file ${JSON.stringify(path)} holds no valid PEM certificate`);
    }
  }
  return roots;
}
