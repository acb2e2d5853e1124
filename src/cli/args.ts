/**
 * Argument parsing shared by the CLI commands; every mistake is a `UsageError` (exit 2). Without the client core, so
 * that `serve` (the enclave's process) loads none of it; what the core judges is `client-args.ts`.
 */

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
