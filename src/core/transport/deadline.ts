/**
 * A deadline for a whole operation, as one AbortSignal. undici's own timeouts
 * are per phase and `bodyTimeout` is the idle time between chunks, so a server
 * sending one byte every few seconds never trips them; this signal fires once
 * `ms` have passed since the start, whatever the server does, or as soon as the
 * caller's own signal aborts. `failure` tells the two apart afterwards.
 */
import { ChannelError } from '../errors.js';

export interface Deadline {
  /** Aborts at the deadline or when the caller's signal aborts, whichever comes first. */
  readonly signal: AbortSignal;
  /** Why the operation was aborted, as the error to throw; undefined while it was not. */
  failure(): ChannelError | undefined;
  /** The deadline's TIMEOUT error, for a phase timeout of undici's that happened to fire first (`cause`). */
  timeout(cause?: unknown): ChannelError;
  /** Stops the timer and forgets the caller's signal; call when the operation is over. */
  dispose(): void;
}

/** Starts a deadline of `ms` for an operation described by `what` (e.g. "the attestation of host:port"). */
export function startDeadline(ms: number, what: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timeout = (cause?: unknown) => new ChannelError('TIMEOUT', `${what} did not complete within ${formatSeconds(ms)}.`, { cause });
  const timer = setTimeout(() => controller.abort(timeout()), ms);
  // The timer alone must not keep a process alive (dispose clears it anyway).
  timer.unref();
  const onAbort = () => controller.abort(new ChannelError('CANCELLED', 'The request was cancelled.', { cause: parent?.reason }));
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    failure: () => (controller.signal.aborted ? (controller.signal.reason as ChannelError) : undefined),
    timeout,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
