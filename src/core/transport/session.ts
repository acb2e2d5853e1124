/**
 * An attested session with a BlindBox server.
 *
 * `connect` opens one TLS connection, asks `/attestation` for a document
 * bound to a fresh 32-byte nonce, verifies it, and requires that the
 * certificate presented on that same connection carries exactly the attested
 * `public_key`. From then on every connection is pinned to that key, and the
 * session attests again, on a new connection, once the policy's maximum age
 * has passed. A server whose key changes is refused, never silently re-trusted.
 */
import { randomBytes } from 'node:crypto';
import { Client, type Dispatcher } from 'undici';
import { verifyAttestation } from '../attestation/verify.js';
import { AWS_NITRO_ROOT_G1, type TrustedRoot } from '../attestation/roots.js';
import { CLIENT_NONCE_BYTES, MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';
import { ENDPOINTS } from '../../protocol/endpoints.js';
import { AttestationError, BlindBoxError, ChannelError, InputError } from '../errors.js';
import { checkMaxAgeSeconds, DEFAULT_POLICY, type AttestationPolicy } from '../policy.js';
import { startDeadline } from './deadline.js';
import { toHex } from '../util/hex.js';
import { attestedEnclave, bindTls, type AttestedEnclave } from './attested-enclave.js';
import { pinnedConnector, spkiOf, TlsPin } from './pinned-connector.js';
import { readBodyLimited, toChannelError, throwForStatus } from './responses.js';
import type { PinnedRequester, PinnedResponse, RequestOptions } from './request.js';
import { transcribe, type TranscribeOptions, type TranscriptResult } from './transcribe.js';
import type { AudioSource } from '../audio-source.js';

export interface ConnectOptions {
  /** Trust anchors; default: the AWS Nitro Enclaves Root G1 only. */
  readonly roots?: readonly TrustedRoot[];
  readonly policy?: AttestationPolicy;
  /**
   * Time limit (default 30 s): for attesting, in total (connect, TLS, request and reading the document); for ordinary
   * requests, per phase (connect, headers, each pause of the body).
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Injectable clock (tests). */
  readonly clock?: () => Date;
}

/** Told every time the session attests again on its own (the first attestation is `connect`'s result). */
export type AttestedListener = (enclave: AttestedEnclave) => void;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class AttestedSession implements PinnedRequester {
  readonly origin: URL;
  #client: Client;
  #current: AttestedEnclave;
  readonly #listeners = new Set<AttestedListener>();
  #reattesting: Promise<void> | undefined;
  #closed = false;

  private constructor(
    origin: URL,
    client: Client,
    current: AttestedEnclave,
    private readonly options: Required<Pick<ConnectOptions, 'roots' | 'policy' | 'timeoutMs' | 'clock'>>,
  ) {
    this.origin = origin;
    this.#client = client;
    this.#current = current;
  }

  /** Attests the server at `url` and returns a session pinned to it. Throws `AttestationError` or `ChannelError`; `InputError` for a bad URL or option. */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<AttestedSession> {
    const origin = parseOrigin(url);
    const resolved = {
      roots: options.roots ?? [AWS_NITRO_ROOT_G1],
      policy: options.policy ?? DEFAULT_POLICY,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      clock: options.clock ?? (() => new Date()),
    };
    // 0 would disable undici's timeouts and Infinity never fire: neither may silently remove the deadline.
    // Node fires a longer timer at once: past 2^31 - 1 ms (24.8 days) the deadline would be meaningless.
    if (!(resolved.timeoutMs > 0 && resolved.timeoutMs <= MAX_TIMER_MS)) throw new InputError('INVALID_OPTION', `the timeout must be more than 0 and at most ${MAX_TIMER_MS} ms, not ${resolved.timeoutMs}`);
    checkMaxAgeSeconds(resolved.policy.maxAgeSeconds, `the policy ${JSON.stringify(resolved.policy.name)}`);
    const { client, attested } = await attestNewChannel(origin, resolved, options.signal);
    return new AttestedSession(origin, client, attested, resolved);
  }

  /** The current verified attestation. */
  get attested(): AttestedEnclave {
    return this.#current;
  }

  /**
   * Calls `listener` after each re-attestation (the session renews itself inside `request` once the policy's maximum
   * age has passed), so whoever shows trust follows it without polling. Returns the unsubscribe function.
   */
  onAttested(listener: AttestedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The policy this session enforces. */
  get policy(): AttestationPolicy {
    return this.options.policy;
  }

  /** Milliseconds until the attestation must be renewed (≤ 0: at the next request). */
  get remainingMs(): number {
    return this.#current.attestation.verifiedAt + this.options.policy.maxAgeSeconds * 1000 - this.options.clock().getTime();
  }

  /** Sends a request over the pinned channel, attesting again first if the attestation is too old. */
  async request(path: string, options: RequestOptions = {}): Promise<PinnedResponse> {
    if (this.#closed) throw new ChannelError('CANCELLED', 'The attested session is closed.');
    if (this.remainingMs <= 0) await this.reattest(options.signal);
    // Taken before the request: a re-attestation meanwhile replaces the client, never the connection this one uses.
    const enclave = this.#current;
    try {
      const response = await this.#client.request({
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        body: options.body,
        signal: options.signal,
        headersTimeout: options.headersTimeoutMs ?? this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      return Object.assign(response, { enclave });
    } catch (err) {
      throw toChannelError(err, this.origin);
    }
  }

  /** Uploads audio over the pinned channel (attesting again first if needed) and returns the transcript. */
  transcribe(source: AudioSource, options?: TranscribeOptions): Promise<TranscriptResult> {
    return transcribe(this, source, options);
  }

  /** Attests again on a new connection (one at a time); the old connection is closed. */
  async reattest(signal?: AbortSignal): Promise<void> {
    this.#reattesting ??= (async () => {
      const { client, attested } = await attestNewChannel(this.origin, this.options, signal);
      const old = this.#client;
      this.#client = client;
      this.#current = attested;
      await old.close().catch(() => undefined);
      // A listener's bug must not fail the request that re-attested.
      for (const listener of [...this.#listeners]) {
        try {
          listener(attested);
        } catch {
          // ignored
        }
      }
    })().finally(() => (this.#reattesting = undefined));
    return this.#reattesting;
  }

  /** Closes every connection; later requests fail with `CANCELLED`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#client.destroy().catch(() => undefined);
  }
}

/** Convenience: `AttestedSession.connect`. */
export const connect = AttestedSession.connect;

function parseOrigin(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError('INVALID_URL', `${JSON.stringify(String(url))} is not a URL`);
  }
  if (parsed.protocol !== 'https:') throw new InputError('INVALID_URL', `The server URL must use https: (TLS terminates inside the enclave), not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new InputError('INVALID_URL', 'The server URL must not carry credentials');
  return new URL(parsed.origin);
}

async function attestNewChannel(
  origin: URL,
  options: Required<Pick<ConnectOptions, 'roots' | 'policy' | 'timeoutMs' | 'clock'>>,
  signal: AbortSignal | undefined,
): Promise<{ client: Client; attested: AttestedEnclave }> {
  const pin = new TlsPin();
  const client = new Client(origin, { connect: pinnedConnector(pin, options.timeoutMs), pipelining: 1 });
  // Connect, TLS, request and every byte of the document within timeoutMs in total: a dribbling server cannot stretch it.
  const deadline = startDeadline(options.timeoutMs, `The attestation of ${origin.host}`, signal);
  try {
    const nonce = randomBytes(CLIENT_NONCE_BYTES);
    let response: Dispatcher.ResponseData;
    try {
      response = await client.request({
        path: `${ENDPOINTS.attestation}?nonce=${toHex(nonce)}`,
        method: 'GET',
        signal: deadline.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    } catch (err) {
      throw toChannelError(err, origin);
    }
    await throwForStatus(response, 'attestation');
    const type = String(response.headers['content-type'] ?? '');
    if (!/^application\/cbor\b/i.test(type)) {
      response.body.destroy();
      throw new ChannelError('PROTOCOL_ERROR', `The server answered ${ENDPOINTS.attestation} with ${JSON.stringify(type || 'no content type')}, not application/cbor.`);
    }
    const document = await readBodyLimited(response.body, MAX_DOCUMENT_BYTES, 'attestation document', origin);
    const now = options.clock();
    const attestation = verifyAttestation(document, {
      now,
      roots: options.roots,
      expectedPcrs: options.policy.pcrs,
      expectedNonce: nonce,
      maxAgeMs: options.policy.maxAgeSeconds * 1000,
    });

    const presented = pin.presented;
    if (!presented) throw new ChannelError('PROTOCOL_ERROR', 'No TLS certificate was seen on the attestation connection.');
    const presentedSpki = spkiOf(presented);
    const binding = bindTls(attestation, presented, presentedSpki);
    pin.pin(presentedSpki);
    return { client, attested: attestedEnclave(attestation, document, presented, binding) };
  } catch (err) {
    await client.destroy().catch(() => undefined);
    // Once aborted, undici fails with the signal's reason or its own wrapping of it; the deadline knows the real cause.
    // undici's connect and headers timeouts (same length, started later) can still fire first on a busy machine:
    // they too mean the attestation did not complete in time, and say so in the same words.
    const failure = err instanceof AttestationError ? undefined : (deadline.failure() ?? (err instanceof ChannelError && err.code === 'TIMEOUT' ? deadline.timeout(err) : undefined));
    throw failure ?? (err instanceof BlindBoxError ? err : toChannelError(err, origin));
  } finally {
    deadline.dispose();
  }
}
