/**
 * A busy server's wait, as the upload (transport/transcribe.ts) reports it and as people read it. With no imports,
 * so that the extension can word it without loading the transport.
 */

/** A busy answer (429/503 with `Retry-After`) about to be retried: `retry` of `maxRetries`, after `waitMs`. */
export interface RetryNotice {
  readonly status: number;
  readonly retry: number;
  readonly maxRetries: number;
  readonly waitMs: number;
}

/** "server busy, retrying in 5 s (2 of 3)": the CLI's stderr line and the extension's progress message. */
export function retryLine(notice: RetryNotice): string {
  return `server busy, retrying in ${Math.ceil(notice.waitMs / 1000)} s (${notice.retry} of ${notice.maxRetries})`;
}
