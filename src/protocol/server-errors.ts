/**
 * The server's refusals on the wire: every error answer is JSON `{"error":{"code","message"}}` with one of these codes,
 * always with the status the table gives it. The server answers only from this table (its `HttpError` is built from a
 * code); the client reads it to know which answers are worth retrying and which codes it may explain in its own words.
 * The README's protocol table lists the same codes under the same statuses (test/core/server-error-codes.test.ts).
 */
import { UPLOAD_FIELDS } from './endpoints.js';
import { MAX_NONCE_BYTES, MIN_NONCE_BYTES } from './limits.js';
import { RECEIPT_NONCE_HEADER } from './receipt.js';
import { TRANSCRIPT_FORMATS } from './transcript.js';

/** One wire code. */
export interface ServerErrorSpec {
  /** The HTTP status it is answered with. */
  readonly status: number;
  /** The server's message when the refusal has no detail of its own to add. */
  readonly sentence: string;
  /** Retrying helps: the answer carries `Retry-After`, and the client waits that long and tries again. */
  readonly retry: boolean;
  /** A second status the same code is answered with, where retrying never helps (never with `Retry-After`). */
  readonly alsoStatus?: number;
  /**
   * The client's own words for the code (a clause it appends to "The server refused the … request (HTTP n)"), for the
   * codes a user can act on. Fixed here, so that a server that has not attested yet only picks which one is shown.
   */
  readonly clientReason?: string;
}

const NONCE_LENGTH = `${2 * MIN_NONCE_BYTES} to ${2 * MAX_NONCE_BYTES} hexadecimal characters`;

export const SERVER_ERROR_CODES = {
  // 400: the request or its upload is malformed.
  INVALID_REQUEST_TARGET: { status: 400, retry: false, sentence: 'The request-target is not a valid path or http(s) URL.' },
  MISSING_HOST: { status: 400, retry: false, sentence: 'An HTTP/1.1 request must carry a Host header.' },
  MALFORMED_REQUEST: { status: 400, retry: false, sentence: 'The request is not well-formed HTTP/1.1.' },
  MALFORMED_BODY_FRAMING: { status: 400, retry: false, sentence: 'The request body framing (Content-Length or chunked encoding) is malformed.' },
  INVALID_NONCE: { status: 400, retry: false, sentence: `The nonce must be ${NONCE_LENGTH} (${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} bytes).` },
  INVALID_RECEIPT_NONCE: { status: 400, retry: false, sentence: `The ${RECEIPT_NONCE_HEADER} header must be ${NONCE_LENGTH}.` },
  MALFORMED_MULTIPART: { status: 400, retry: false, sentence: 'The multipart body is malformed or was cut short.' },
  MISSING_FILE: { status: 400, retry: false, sentence: 'The upload has no file part.' },
  MISSING_FILENAME: { status: 400, retry: false, sentence: 'The file part has no file name: send the audio as a file part with a non-empty filename="…".' },
  UNEXPECTED_FILE: { status: 400, retry: false, sentence: 'The upload has a file part other than the one expected: send exactly one file.' },
  EMPTY_FILE: { status: 400, retry: false, sentence: 'The uploaded file is empty.' },
  FIELD_TOO_LONG: { status: 400, retry: false, sentence: 'A field of the upload is too long.' },
  INVALID_RESPONSE_FORMAT: { status: 400, retry: false, sentence: `${UPLOAD_FIELDS.responseFormat} must be one of ${TRANSCRIPT_FORMATS.join(', ')}.` },
  INVALID_TEMPERATURE: { status: 400, retry: false, sentence: `${UPLOAD_FIELDS.temperature} must be a number from 0 to 1.` },
  INVALID_TIMESTAMP_GRANULARITY: { status: 400, retry: false, sentence: `${UPLOAD_FIELDS.timestampGranularities} must be word or segment, and is taken with verbose_json only.` },
  UNREADABLE_AUDIO: { status: 400, retry: false, sentence: 'The audio could not be decoded.' },
  EMPTY_AUDIO: { status: 400, retry: false, sentence: 'The audio decodes to no samples.' },
  // 400: a body sealed to the enclave (protocol/sealed-body.ts) that cannot be taken.
  MALFORMED_SEALED_REQUEST: { status: 400, retry: false, sentence: 'The sealed request\'s headers are missing or malformed (encapsulated key, HPKE key, request time, content type, receipt nonce).' },
  SEALED_BODY_INVALID: { status: 400, retry: false, sentence: 'A chunk of the sealed body does not authenticate: it was changed, dropped, reordered or replayed, or the body belongs to another request.' },
  SEALED_BODY_TRUNCATED: { status: 400, retry: false, sentence: 'The sealed body ended before its final chunk.' },
  SEALED_BODY_MALFORMED: { status: 400, retry: false, sentence: 'The sealed body is not framed as chunks of the protocol (a length out of range, a short chunk before the final one, bytes after the final one).' },
  SEALED_REQUEST_REPLAYED: { status: 400, retry: false, sentence: 'This sealed request (its encapsulated key) was received before.' },
  SEALED_REQUEST_EXPIRED: { status: 400, retry: false, sentence: 'The sealed request\'s time is too far from the enclave\'s clock.' },
  NOT_FOUND: { status: 404, retry: false, sentence: 'There is no such path on this server.' },
  METHOD_NOT_ALLOWED: { status: 405, retry: false, sentence: 'The method is not allowed on this path.' },
  // 408: too slow (the connection is closed).
  REQUEST_TIMEOUT: { status: 408, retry: false, sentence: 'The request headers did not arrive in time.' },
  BODY_TIMEOUT: { status: 408, retry: false, sentence: 'The upload stopped arriving.' },
  BODY_TOO_SLOW: { status: 408, retry: false, sentence: 'The upload arrives slower than this server requires.' },
  // 413: too large.
  FILE_TOO_LARGE: { status: 413, retry: false, sentence: 'The upload is larger than this server accepts.' },
  TOO_LONG: { status: 413, retry: false, sentence: "The audio is longer than this server's limit." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retry: false, sentence: `Send the audio as multipart/form-data with the file in the field "${UPLOAD_FIELDS.file}".` },
  UNSUPPORTED_FORMAT: { status: 415, retry: false, sentence: 'The audio is in a container or codec this server does not take.' },
  EXPECTATION_FAILED: { status: 417, retry: false, sentence: 'This server only understands "Expect: 100-continue".' },
  LANGUAGE_UNSUPPORTED: { status: 422, retry: false, sentence: "The language asked for is not one this server's engine transcribes." },
  TRANSLATION_UNSUPPORTED: { status: 422, retry: false, sentence: "This server's engine cannot translate: ask /v1/audio/transcriptions for a transcript instead." },
  HPKE_KEY_UNKNOWN: { status: 422, retry: false, sentence: 'The body is sealed to an HPKE key this enclave does not hold (another enclave\'s, or its own before a restart): attest it again.' },
  // 429: too many from this client.
  BUSY: { status: 429, retry: true, sentence: 'The speech engine is busy; try again later.' },
  ONE_PER_CONNECTION: { status: 429, retry: false, sentence: 'This connection is already transcribing: wait for its answer, or use another connection.' },
  TOO_MANY_PIPELINED: { status: 429, retry: false, sentence: 'Too many requests were pipelined on this connection: send them again after reading the answers.' },
  ATTESTATION_RATE_LIMITED: { status: 429, retry: true, sentence: 'Too many attestation requests from this address; try again shortly.' },
  SOURCE_SHARE_EXCEEDED: {
    status: 429,
    retry: true,
    sentence: "This address holds more than its share of the server's transcription slots or upload storage while others wait; try again shortly.",
    clientReason: "your address already holds its share of the server's capacity while others wait; try again later",
  },
  HEADERS_TOO_LARGE: { status: 431, retry: false, sentence: 'The request headers are larger than this server accepts.' },
  /** Only logged: the client that would read it went away. */
  CANCELLED: { status: 499, retry: false, sentence: 'The transcription was cancelled.' },
  /** A bug in the server, never bad input. */
  INTERNAL: { status: 500, retry: false, sentence: 'The server failed to handle the request.' },
  // 503: the server cannot take it now.
  SERVER_BUSY: { status: 503, retry: true, sentence: 'The server is transcribing as much as it can; try again shortly.' },
  INSUFFICIENT_STORAGE: {
    status: 503,
    retry: true,
    sentence: 'The server has no room to store this upload now; try again shortly.',
    alsoStatus: 413,
    clientReason: 'it has no room to store the upload now; try again later',
  },
  ENGINE_NOT_CONFIGURED: { status: 503, retry: false, sentence: 'No speech engine is configured on this server.' },
  UNAVAILABLE: { status: 503, retry: false, sentence: 'The speech engine is not running.' },
  SHUTTING_DOWN: { status: 503, retry: true, sentence: 'The server is shutting down; try again shortly.' },
  ATTESTATION_BUSY: { status: 503, retry: true, sentence: 'The server is signing as many attestation documents as it can at once; try again shortly.' },
  /**
   * The engine broke mid-transcription (whisper.cpp dropped the connection, died, or answered an error). Not retried: a
   * supervised whisper-server is restarted, but this audio may be what killed it.
   */
  ENGINE_FAILED: { status: 502, retry: false, sentence: 'The speech engine failed while transcribing.' },
  TIMEOUT: { status: 504, retry: false, sentence: 'The transcription took longer than the server allows.' },
} as const satisfies Readonly<Record<string, ServerErrorSpec>>;

/** A code the server answers with. */
export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;

/** The codes whose answer carries `Retry-After`. */
export type RetryingServerErrorCode = { [C in ServerErrorCode]: (typeof SERVER_ERROR_CODES)[C]['retry'] extends true ? C : never }[ServerErrorCode];

/** The table's entry for `code` as a server sent it (any string), or undefined: an inherited property name is not one. */
export function serverErrorSpec(code: string): ServerErrorSpec | undefined {
  return Object.hasOwn(SERVER_ERROR_CODES, code) ? SERVER_ERROR_CODES[code as ServerErrorCode] : undefined;
}

/** The statuses of answers that may be worth retrying (those of the codes that carry `Retry-After`): 429 and 503. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set(Object.values(SERVER_ERROR_CODES as Readonly<Record<string, ServerErrorSpec>>).filter((spec) => spec.retry).map((spec) => spec.status));
