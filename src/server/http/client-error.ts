/**
 * Answers to the errors Node's HTTP parser finds before (or instead of) a request handler: a malformed request line
 * or chunk, conflicting framing, headers too large or too slow. Node's own answers have no body; these carry the
 * protocol's JSON error like every other answer, and close the connection.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './respond.js';

interface Answer {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

function classify(err: NodeJS.ErrnoException): Answer {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are larger than this server accepts.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request headers did not arrive in time.' };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'MALFORMED_BODY_FRAMING', message: 'The request body framing (Content-Length or chunked encoding) is malformed.' };
    default:
      return { status: 400, code: 'MALFORMED_REQUEST', message: 'The request is not well-formed HTTP/1.1.' };
  }
}

/**
 * The raw bytes that answer `err` on `socket`, or undefined when nothing should be written: the peer is gone, or a
 * response is under way or owed on this connection (`busy`), and a second one would take its place.
 */
export function clientErrorAnswer(err: NodeJS.ErrnoException, socket: Socket, busy: boolean): string | undefined {
  if (err.code === 'ECONNRESET' || !socket.writable || busy) return undefined;
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (current?.headersSent) return undefined;
  const answer = classify(err);
  return rawErrorAnswer(answer.status, answer.code, answer.message);
}

/** A whole HTTP/1.1 error response, as bytes to write on a socket no `ServerResponse` owns; it closes the connection. */
export function rawErrorAnswer(status: number, code: string, message: string): string {
  const body = errorBody(code, message);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\n' +
    'connection: close\r\n\r\n' +
    body
  );
}
