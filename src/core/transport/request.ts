/**
 * What a request over an attested channel looks like, apart from the session that sends it. Modules that only send
 * requests (the transcription upload) depend on this small interface rather than on `AttestedSession`, so the
 * session can offer them as methods without the two modules importing each other.
 */
import type { Dispatcher } from 'undici';
import type { AttestedEnclave } from './attested-enclave.js';
import type { AttestationPolicy } from '../policy.js';

/** Options of one request over the pinned channel. */
export interface RequestOptions {
  readonly method?: Dispatcher.HttpMethod;
  readonly headers?: Record<string, string>;
  /** A function is called once per attempt (a stream can be sent only once; see `AttestedSession.request`). */
  readonly body?: Dispatcher.DispatchOptions['body'] | (() => Dispatcher.DispatchOptions['body']);
  readonly signal?: AbortSignal;
  /** Longest wait for the response headers (default: the session timeout). */
  readonly headersTimeoutMs?: number;
  /** Longest pause between two chunks of the body (default: the session timeout); a stream's is the engine's time. */
  readonly bodyTimeoutMs?: number;
  /**
   * Makes each attempt's headers and body for the enclave of the channel that carries it (a body sealed to that
   * enclave's HPKE key); when given, `headers` and `body` are not used.
   */
  readonly prepare?: (enclave: AttestedEnclave) => Promise<PreparedRequest>;
}

/** One attempt's request. `sealed`: its body is sealed to the channel's enclave, the only kind an unbound channel carries. */
export interface PreparedRequest {
  readonly headers?: Record<string, string>;
  readonly body?: Dispatcher.DispatchOptions['body'];
  readonly sealed: boolean;
}

/**
 * A response, with the attested enclave whose key the connection that carried it presented: the one owner of "who
 * answered" (a fleet has one key per enclave; a receipt must be signed for exactly that key).
 */
export interface PinnedResponse extends Dispatcher.ResponseData {
  readonly enclave: AttestedEnclave;
}

/** Sends requests to one attested origin; `AttestedSession` is the implementation. */
export interface PinnedRequester {
  /** The server's origin, for messages. */
  readonly origin: URL;
  /** The session's time limit: per request phase, and for reading a whole answer body once its headers arrived. */
  readonly timeoutMs: number;
  /** The policy every enclave answering was attested under (recorded in transcript receipts). */
  readonly policy: AttestationPolicy;
  /** The session's clock: receipts on its answers are judged at this time, as its attestations were. */
  readonly clock: () => Date;
  /** Sends a request over the pinned channel, attesting again first if needed. */
  request(path: string, options?: RequestOptions): Promise<PinnedResponse>;
}
