/**
 * An attested session with a BlindBox server: one enclave, or a fleet of them behind a TCP (L4) balancer.
 *
 * Every connection that carries a request has first been attested on that very connection: `GET /attestation` with a
 * fresh 32-byte nonce, the document verified, and the certificate presented on that connection required to carry
 * exactly the attested `public_key` (attested-channel.ts). The session keeps a bounded pool of such connections
 * (channel-pool.ts), so transcriptions run in parallel, each on its own connection, and the set of enclaves they
 * attested, each with its own age; a connection whose attestation is older than the policy allows is replaced by a
 * newly attested one. A key that fails attestation is never used; a connection that fails before it was answered
 * (another key after a reconnect, a reset, a man in the middle behind the balancer) is retried on a new connection,
 * within one budget of `attempts` per request that the pool keeps (channel-pool.ts `AttemptBudget`).
 */
import { AWS_NITRO_ROOT_G1, type TrustedRoot } from '../attestation/roots.js';
import { ChannelError, InputError } from '../errors.js';
import { checkMaxAgeSeconds, DEFAULT_POLICY, type AttestationPolicy } from '../policy.js';
import type { AttestedEnclave } from './attested-enclave.js';
import { parseServerOrigin } from './server-origin.js';
import { resolveRoute, type ProxyEnvironment, type ProxyRoute, type ProxySettings } from './proxy-route.js';
import { ChannelPool } from './channel-pool.js';
import { abandonBody, toChannelError } from './responses.js';
import type { Dispatcher } from 'undici';
import { SEALED_HEADERS } from '../../protocol/sealed-body.js';
import type { PinnedRequester, PinnedResponse, PreparedRequest, RequestOptions } from './request.js';
import { transcribe, type TranscribeOptions, type TranscriptResult } from './transcribe.js';
import { transcribeStream, type TranscribeStreamOptions } from './transcribe-stream.js';
import type { AudioSource } from '../audio-source.js';

export interface ConnectOptions {
  /** Trust anchors; default: the AWS Nitro Enclaves Root G1 only. */
  readonly roots?: readonly TrustedRoot[];
  readonly policy?: AttestationPolicy;
  /**
   * Time limit (default 30 s): for attesting a connection, in total (connect, TLS, request and reading the document);
   * for ordinary requests, per phase (connect, headers, each pause of the body), and for reading a whole answer body
   * once its headers arrived (a server dribbling it fails with `TIMEOUT`).
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Injectable clock (tests). */
  readonly clock?: () => Date;
  /** Most attested connections open at once, i.e. requests running in parallel (default 4). */
  readonly maxConnections?: number;
  /**
   * Connection attempts one request (or `connect`) may make in all (default 4, at most 16): each new connection whose
   * attestation failed and each send that failed before an answer counts one. `TIMEOUT` and `CANCELLED` are never
   * retried, nor a send answered with a `PROTOCOL_ERROR` (an answer, however malformed), nor a body that cannot be sent again. A busy answer (429/503) is an answer: `transcribe` retries it as a
   * new request, with a budget of its own.
   */
  readonly attempts?: number;
  /** Receives one line per retried attempt, with its reason (default: nowhere). */
  readonly log?: (line: string) => void;
  /** Explicit proxy settings (VS Code's `http.*`, the CLI's flags); they win over `environment`. */
  readonly proxy?: ProxySettings;
  /** The environment whose HTTPS_PROXY / NO_PROXY apply (e.g. `process.env`); default none: only `proxy` counts. */
  readonly environment?: ProxyEnvironment;
  /**
   * Allow TLS that a middlebox terminates (a company's TLS-inspecting proxy), for bodies sealed to the enclave's
   * attested HPKE key only; the middlebox's certificate must be valid for the system's trust store (Node's CAs and
   * NODE_EXTRA_CA_CERTS). Default false: interception is `TLS_BINDING_MISMATCH`. See attested-enclave.ts `bindTls`.
   */
  readonly allowInspectedTls?: boolean;
  /** PEM certificates trusted, besides Node's CAs and NODE_EXTRA_CA_CERTS, for an inspecting middlebox (the CLI's `--inspection-ca`). */
  readonly inspectionCas?: readonly string[];
}

/** Told of every attestation the session makes after `connect` (a new enclave, or a known one attested again). */
export type AttestedListener = (enclave: AttestedEnclave) => void;

/** Told whenever the session's list of enclaves (`enclaves`) changes: one attested, or one whose key stopped answering. */
export type EnclavesListener = (enclaves: readonly AttestedEnclave[]) => void;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_MAX_CONNECTIONS = 4;
const DEFAULT_ATTEMPTS = 4;

export class AttestedSession implements PinnedRequester {
  readonly origin: URL;
  /** How every connection of this session goes: directly or through which proxy (proxy-route.ts). */
  readonly route: ProxyRoute;
  readonly #pool: ChannelPool;
  readonly #listeners = new Set<AttestedListener>();
  readonly #enclaveListeners = new Set<EnclavesListener>();
  readonly #timeoutMs: number;
  readonly #policy: AttestationPolicy;
  readonly #clock: () => Date;
  #closed = false;

  private constructor(origin: URL, options: ConnectOptions & { policy: AttestationPolicy; timeoutMs: number; attempts: number; maxConnections: number; route: ProxyRoute }) {
    this.origin = origin;
    this.route = options.route;
    this.#timeoutMs = options.timeoutMs;
    this.#policy = options.policy;
    this.#clock = options.clock ?? (() => new Date());
    this.#pool = new ChannelPool(
      origin,
      {
        roots: options.roots ?? [AWS_NITRO_ROOT_G1],
        policy: options.policy,
        timeoutMs: options.timeoutMs,
        clock: this.#clock,
        maxConnections: options.maxConnections,
        attempts: options.attempts,
        log: options.log ?? (() => undefined),
        route: options.route,
        allowInspectedTls: options.allowInspectedTls,
        inspectionCas: options.inspectionCas,
      },
      { attested: (enclave) => this.#tell(this.#listeners, enclave), changed: () => this.#tell(this.#enclaveListeners, this.#pool.enclaves) },
    );
  }

  /**
   * Attests the server at `url` on a first connection and returns a session holding it. Throws `AttestationError` or
   * `ChannelError` when no attested connection could be made; `InputError` for a bad URL or option.
   */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<AttestedSession> {
    const origin = parseServerOrigin(url);
    const resolved = {
      ...options,
      policy: options.policy ?? DEFAULT_POLICY,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      attempts: options.attempts ?? DEFAULT_ATTEMPTS,
      route: resolveRoute(origin, options.proxy, options.environment),
    };
    // 0 would disable undici's timeouts and Infinity never fire: neither may silently remove the deadline.
    // Node fires a longer timer at once: past 2^31 - 1 ms (24.8 days) the deadline would be meaningless.
    if (!(resolved.timeoutMs > 0 && resolved.timeoutMs <= MAX_TIMER_MS)) throw new InputError('INVALID_OPTION', `the timeout must be more than 0 and at most ${MAX_TIMER_MS} ms, not ${resolved.timeoutMs}`);
    checkCount('maxConnections', resolved.maxConnections, 64);
    checkCount('attempts', resolved.attempts, 16);
    checkMaxAgeSeconds(resolved.policy.maxAgeSeconds, `the policy ${JSON.stringify(resolved.policy.name)}`);
    const session = new AttestedSession(origin, resolved);
    try {
      session.#pool.release(await session.#pool.acquire(options.signal), true);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** The most recent verified attestation (of whichever enclave; see `enclaves` for all of them). */
  get attested(): AttestedEnclave {
    return this.#pool.latest!;
  }

  /**
   * The enclaves this session attested that still answer, each with its latest attestation, most recent first: one at
   * least when `connect` returns; one whose key stopped answering (a restarted server) leaves (channel-pool.ts), so
   * the list is empty once none answers.
   */
  get enclaves(): readonly AttestedEnclave[] {
    return this.#pool.enclaves;
  }

  /**
   * Calls `listener` after each attestation the session makes on its own (a new connection, to a new enclave or a
   * known one whose attestation aged), so whoever shows trust follows it without polling. Returns the unsubscribe function.
   */
  onAttested(listener: AttestedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` whenever `enclaves` changes. Returns the unsubscribe function. */
  onEnclavesChanged(listener: EnclavesListener): () => void {
    this.#enclaveListeners.add(listener);
    return () => this.#enclaveListeners.delete(listener);
  }

  /** The time limit per request phase, and for a whole answer body (see `ConnectOptions.timeoutMs`). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** The policy this session enforces. */
  get policy(): AttestationPolicy {
    return this.#policy;
  }

  /** The clock this session verifies by (`ConnectOptions.clock`, default the machine's). */
  get clock(): () => Date {
    return this.#clock;
  }

  /** Milliseconds until the most recent attestation must be renewed (≤ 0: the next request attests a new connection). */
  get remainingMs(): number {
    return this.#pool.remainingMs(this.attested);
  }

  /**
   * Sends a request over an attested connection (attesting a new one first if none is free and fresh). The connection
   * is lent to this request until its response body ends. A `body` given as a function is called once per attempt,
   * so that a connection that fails before answering can be replaced; any other body except none, a string or bytes
   * is sent once. All the attempts of one request, the pool's attestations and the sends here, share one budget.
   */
  async request(path: string, options: RequestOptions = {}): Promise<PinnedResponse> {
    const replayable = options.prepare !== undefined || options.body === undefined || typeof options.body === 'function' || typeof options.body === 'string' || options.body instanceof Uint8Array;
    const budget = this.#pool.budget();
    for (;;) {
      if (this.#closed) throw new ChannelError('CANCELLED', 'The attested session is closed.');
      const channel = await this.#pool.acquire(options.signal, budget);
      let prepared: PreparedRequest;
      try {
        prepared = await prepare(options, channel.enclave);
      } catch (err) {
        this.#pool.release(channel, true);
        throw err;
      }
      const body = prepared.body;
      // The policy's last word, where the bytes leave: on a channel whose TLS a middlebox terminates, no body goes in clear.
      if (!channel.enclave.binding.bound && body !== undefined && !prepared.sealed) {
        this.#pool.release(channel, true);
        destroyBody(body);
        throw new ChannelError('TLS_BINDING_MISMATCH', `TLS to ${this.origin.host} is inspected by ${JSON.stringify(channel.enclave.binding.inspectedBy?.issuer ?? 'a middlebox')}: only a body sealed to the enclave may be sent on it, and this one is not.`);
      }
      let response;
      try {
        response = await channel.client.request({
          path,
          method: options.method ?? 'GET',
          headers: prepared.headers,
          body,
          signal: options.signal,
          headersTimeout: options.headersTimeoutMs ?? this.#timeoutMs,
          bodyTimeout: options.bodyTimeoutMs ?? this.#timeoutMs,
        });
      } catch (err) {
        const e = toChannelError(err, this.origin);
        this.#pool.release(channel, false, e);
        destroyBody(body);
        // A PROTOCOL_ERROR is an answer, however malformed: it came after the whole request, audio included, reached
        // the server, and another attempt would send that again to a server that already had it.
        const answered = e.code === 'PROTOCOL_ERROR';
        if (!replayable || answered || this.#closed || !budget.retry(e, `of ${options.method ?? 'GET'} ${path} failed before an answer`)) throw e;
        continue;
      }
      // A body sealed to a key the enclave no longer holds (it restarted behind the middlebox, or a balancer sent the
      // request to another): refused unread, so it may go again, sealed anew, on a newly attested channel.
      const gone = prepared.sealed ? sealedKeyGone(response, prepared.headers) : undefined;
      if (gone) {
        abandonBody(response.body);
        this.#pool.release(channel, false, gone);
        if (this.#closed || !budget.retry(gone, `of ${options.method ?? 'GET'} ${path} was refused`)) throw gone;
        continue;
      }
      // The connection is free again once the answer has been read (or abandoned).
      response.body.once('close', () => this.#pool.release(channel, true));
      return Object.assign(response, { enclave: channel.enclave });
    }
  }

  /** Uploads audio over an attested connection and returns the transcript. */
  transcribe(source: AudioSource, options?: TranscribeOptions): Promise<TranscriptResult> {
    return transcribe(this, source, options);
  }

  /** Uploads audio and reads its transcript as a stream, each segment told as it comes; resolves once its receipt verified. */
  transcribeStream(source: AudioSource, options?: TranscribeStreamOptions): Promise<TranscriptResult> {
    return transcribeStream(this, source, options);
  }

  /** Attests a new connection now; the idle ones are closed. */
  async reattest(signal?: AbortSignal): Promise<void> {
    this.#pool.dropIdle();
    this.#pool.release(await this.#pool.acquire(signal), true);
  }

  /** Closes every connection; later requests fail with `CANCELLED`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#enclaveListeners.clear();
    await this.#pool.close();
  }

  #tell<T>(listeners: Set<(value: T) => void>, value: T): void {
    // A listener's bug must not fail the request that attested.
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch {
        // ignored
      }
    }
  }
}

function checkCount(name: string, value: number, max: number): void {
  if (!(Number.isInteger(value) && value >= 1 && value <= max)) throw new InputError('INVALID_OPTION', `${name} must be a whole number from 1 to ${max}, not ${value}`);
}

/** One attempt's headers and body, made for the enclave of the channel that carries it. */
async function prepare(options: RequestOptions, enclave: AttestedEnclave): Promise<PreparedRequest> {
  if (options.prepare) return options.prepare(enclave);
  return { headers: options.headers, body: typeof options.body === 'function' ? options.body() : options.body, sealed: false };
}

/**
 * The failure to retry when `response` refuses a sealed request as sealed to a key the enclave does not hold
 * (`422 HPKE_KEY_UNKNOWN`, naming the key it holds now), or undefined. Only a status and a header are read: the
 * refusal is not authenticated, and all a forged one can do is cost an attestation within the request's budget.
 */
function sealedKeyGone(response: Dispatcher.ResponseData, headers: Record<string, string> | undefined): ChannelError | undefined {
  const holds = response.headers[SEALED_HEADERS.hpkeKey];
  if (response.statusCode !== 422 || typeof holds !== 'string' || holds === headers?.[SEALED_HEADERS.hpkeKey]) return undefined;
  return new ChannelError('SERVER_ERROR', 'The enclave no longer holds the HPKE key this channel attested (it restarted, or another enclave answered).', { status: 422, serverCode: 'HPKE_KEY_UNKNOWN' });
}

/** A stream body of a failed attempt is not read again. */
function destroyBody(body: unknown): void {
  const stream = body as { destroy?: () => void } | undefined;
  if (stream && typeof stream.destroy === 'function') stream.destroy();
}

/** Convenience: `AttestedSession.connect`. */
export const connect = AttestedSession.connect;
