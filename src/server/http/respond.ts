/** Small, shared response helpers: every error is JSON `{"error":{"code","message"}}` with the right status. */
import type { ServerResponse } from 'node:http';

/** An error to report to the client as-is (never a 500 for bad input). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
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
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  sendJsonText(res, err.status, errorBody(err.code, err.message), err.headers);
}
