/** Small, shared response helpers: every error is JSON `{"error":{"code","message"}}` with the right status. */
import type { ServerResponse } from 'node:http';
import { SERVER_ERROR_CODES, type RetryingServerErrorCode, type ServerErrorCode, type ServerErrorSpec } from '../../protocol/server-errors.js';

type Spec<C extends ServerErrorCode> = (typeof SERVER_ERROR_CODES)[C];

/** The code's second status, where it has one (answered without `Retry-After`). */
type AlsoStatus<C extends ServerErrorCode> = Spec<C> extends { readonly alsoStatus: infer S } ? { readonly status: S } : never;

/** Headers an answer adds (`connection: close`, `allow`); `Retry-After` comes from `retryAfterSeconds`. */
interface AnswerOptions {
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * How a code is answered: a retrying code must say how long to wait (or be answered with its second status), the
 * others may not carry `Retry-After`.
 */
type AnswerArgs<C extends ServerErrorCode> = C extends RetryingServerErrorCode
  ? [options: AnswerOptions & ({ readonly retryAfterSeconds: number; readonly status?: never } | AlsoStatus<C>)]
  : [options?: AnswerOptions & { readonly retryAfterSeconds?: never; readonly status?: never }];

/** An error to report to the client as-is (never a 500 for bad input), made from a code of `SERVER_ERROR_CODES`. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  private constructor(
    readonly code: ServerErrorCode,
    message: string,
    options: AnswerOptions & { readonly retryAfterSeconds?: number; readonly status?: number },
  ) {
    super(message);
    const spec: ServerErrorSpec = SERVER_ERROR_CODES[code];
    this.status = options.status ?? spec.status;
    const retrying = spec.retry && this.status === spec.status;
    this.headers = retrying ? { 'retry-after': String(options.retryAfterSeconds), ...options.headers } : { ...options.headers };
  }

  /** The answer for `code`: its status, `message` (by default the code's sentence), and `Retry-After` where it retries. */
  static of<C extends ServerErrorCode>(code: C, message: string = SERVER_ERROR_CODES[code].sentence, ...[options = {}]: AnswerArgs<C>): HttpError {
    return new HttpError(code, message, options);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

function sendJsonText(res: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** The JSON text of an error answer. */
export function errorBody(code: ServerErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  sendJsonText(res, err.status, errorBody(err.code, err.message), err.headers);
}
