/**
 * Answers to the errors Node's HTTP parser finds before (or instead of) a request handler: a malformed request line
 * or chunk, conflicting framing, headers too large or too slow. Node's own answers have no body; these carry the
 * protocol's JSON error like every other answer, and close the connection.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { SERVER_ERROR_CODES, type ServerErrorCode } from '../../protocol/server-errors.js';
import { errorBody } from './respond.js';

/** The code that answers a parser error: each has the table's sentence, since Node says nothing more about it. */
function classify(err: NodeJS.ErrnoException): ServerErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'MALFORMED_BODY_FRAMING';
    default:
      return 'MALFORMED_REQUEST';
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
  return rawErrorAnswer(classify(err));
}

/** A whole HTTP/1.1 error response, as bytes to write on a socket no `ServerResponse` owns; it closes the connection. */
export function rawErrorAnswer(code: ServerErrorCode, message: string = SERVER_ERROR_CODES[code].sentence): string {
  const { status } = SERVER_ERROR_CODES[code];
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
