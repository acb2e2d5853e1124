/**
 * What the local endpoint answers its callers, in OpenAI's shapes so that its SDKs parse it: a failure is
 * `{"error":{"message","type","param","code"}}` with the core's code (or the endpoint's own for the caller's request),
 * a transcript carries the content type OpenAI gives its format.
 */
import { BlindBoxError, ChannelError, InputError, isUntrustedFailure, serverSaid } from '../errors.js';
import { quoteServerText } from '../../shared/text.js';
import type { TranscriptFormat } from '../../protocol/transcript.js';
import { IGNORED_FIELDS_HEADER } from '../../protocol/endpoints.js';

/** The endpoint's own refusals of a caller's request (the core's codes are the core's). */
export const LOCAL_REFUSAL_CODES = {
  UNAUTHORIZED: 'Send the token the endpoint printed: Authorization: Bearer <token>.',
  NOT_FOUND: 'The endpoint serves POST /v1/audio/transcriptions, POST /v1/audio/translations, POST /whisper/predict, GET /v1/models[/{id}] and GET /v1/verification.',
  MODEL_NOT_FOUND: 'No attested enclave runs that model.',
  METHOD_NOT_ALLOWED: 'This path does not take that method.',
  NOT_MULTIPART: 'Send the audio as multipart/form-data.',
  MALFORMED_MULTIPART: 'The multipart body cannot be read.',
  MISSING_FILE: 'The request carries no audio file.',
  UPLOAD_TOO_LARGE: 'The audio is larger than a server accepts.',
  BUSY: 'The endpoint is handling as many requests as it takes; retry shortly.',
} as const;

export type LocalRefusalCode = keyof typeof LOCAL_REFUSAL_CODES;

/** A caller's request refused by the endpoint itself, before anything reached the server. */
export class LocalRefusal extends Error {
  readonly code: LocalRefusalCode;
  readonly status: number;

  constructor(code: LocalRefusalCode, status: number, message: string = LOCAL_REFUSAL_CODES[code]) {
    super(message);
    this.name = 'LocalRefusal';
    this.code = code;
    this.status = status;
  }
}

/** One answer: status, headers and a JSON body. */
export interface JsonAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** The OpenAI error body. `untrusted`: the core's one rule said the server is not (provably) the attested enclave. */
function errorBody(code: string, message: string, type: string, untrusted: boolean): unknown {
  return { error: { message, type, param: null, code, untrusted } };
}

/**
 * `err` as the caller's answer. The core's failures keep their code; an untrusted server is a 502 that OpenAI's SDKs
 * are told not to retry (`x-should-retry: false`: asking again changes nothing and nothing was forwarded); the
 * server's own refusal keeps its 4xx status, its words quoted after ours.
 */
export function failureAnswer(err: unknown): JsonAnswer {
  const noRetry = { 'x-should-retry': 'false' };
  if (err instanceof LocalRefusal) {
    const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer' } : err.status === 429 ? { 'retry-after': '1' } : noRetry;
    return { status: err.status, headers, body: errorBody(err.code, err.message, 'invalid_request_error', false) };
  }
  if (!(err instanceof BlindBoxError)) return { status: 500, headers: noRetry, body: errorBody('INTERNAL_ERROR', 'The local endpoint failed unexpectedly; its log has the details.', 'server_error', false) };
  const said = serverSaid(err);
  const message = said ? `${err.message} The server said (unverified): ${quoteServerText(said)}` : err.message;
  if (isUntrustedFailure(err)) return { status: 502, headers: noRetry, body: errorBody(err.code, message, 'blindbox_untrusted_server', true) };
  if (err instanceof InputError) return { status: 400, headers: noRetry, body: errorBody(err.code, message, 'invalid_request_error', false) };
  const status = statusOf(err);
  // Only a server not reached or failing may be asked again; after a timeout or a malformed answer it may have the audio.
  const retryable = err.code === 'SERVER_UNREACHABLE' || (err.code === 'SERVER_ERROR' && status >= 500);
  return { status, headers: retryable ? {} : noRetry, body: errorBody(err.code, message, status < 500 ? 'invalid_request_error' : 'server_error', false) };
}

function statusOf(err: BlindBoxError): number {
  if (err instanceof ChannelError && err.code === 'SERVER_ERROR' && err.status !== undefined && err.status >= 400 && err.status < 500) return err.status;
  if (err.code === 'TIMEOUT') return 504;
  if (err.code === 'CANCELLED') return 499;
  return 502;
}

/** The server's word on what its engine ignored, relayed as a header (as the server said it: no receipt covers it). */
export function ignoredFieldsHeader(fields: readonly string[]): Record<string, string> {
  return fields.length > 0 ? { [IGNORED_FIELDS_HEADER]: fields.join(', ') } : {};
}

/** The content type OpenAI answers a transcript in `format` with. */
export function transcriptContentType(format: TranscriptFormat): string {
  return format === 'json' || format === 'verbose_json' ? 'application/json' : 'text/plain; charset=utf-8';
}
