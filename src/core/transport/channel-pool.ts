/**
 * A bounded pool of attested channels to one origin (one enclave or a fleet behind a TCP balancer) and the set of
 * enclaves they attested. Each channel is pinned to the key its own connection attested (see attested-channel.ts);
 * the pool only decides how many exist, which one a request gets, when one is too old to use, and how often a
 * failed attempt is tried again on a new connection: one budget of `attempts` per request (`AttemptBudget`).
 */
import { ChannelError, InputError, type BlindBoxError } from '../errors.js';
import { errorClause } from '../../shared/text.js';
import { openAttestedChannel, type AttestedChannel, type ChannelOptions, type RefusedKeys } from './attested-channel.js';
import type { AttestedEnclave } from './attested-enclave.js';

export interface PoolOptions extends ChannelOptions {
  /** Most connections open at once (each one socket, one request at a time). */
  readonly maxConnections: number;
  /** Connection attempts one request (or one `connect`) may make in all: the size of each `AttemptBudget`. */
  readonly attempts: number;
  /** Where the reason of each retried attempt goes. */
  readonly log: (line: string) => void;
}

/**
 * Whether a failure may be tried again on a new connection: not when the caller gave up, the server was too slow, or
 * the proxy wants credentials it will not get by asking again.
 */
export function isRetryable(err: BlindBoxError): boolean {
  return !(err instanceof InputError) && err.code !== 'CANCELLED' && err.code !== 'TIMEOUT' && err.code !== 'PROXY_AUTH_REQUIRED';
}

/**
 * The connection attempts one request (or one `connect`) may make: `limit` in all, however each one fails. The pool
 * spends one for every channel it lends that request, idle or new, and one for every new connection whose attestation
 * failed; a send that failed before an answer was made on a channel already paid for. So a request whose connections
 * keep failing, in whatever mix, makes at most `limit` attempts, never `limit` per retry of the send.
 */
export class AttemptBudget {
  #spent = 0;
  readonly #log: (line: string) => void;

  constructor(
    readonly limit: number,
    log: (line: string) => void,
  ) {
    this.#log = log;
  }

  /** Counts one more attempt: the pool's, as it lends or opens a channel. */
  spend(): void {
    this.#spent++;
  }

  /**
   * Whether the attempt that failed with `err` may be followed by another: the failure is retryable and the budget
   * not spent. If so, logs one line with the reason; `failed` says what failed ("of GET /x failed before an answer").
   */
  retry(err: BlindBoxError, failed: string): boolean {
    if (this.#spent >= this.limit || !isRetryable(err)) return false;
    this.#log(`attempt ${this.#spent} of ${this.limit} ${failed} (${errorClause(err)}); trying a new connection`);
    return true;
  }
}

/**
 * Whether a request that failed with `err` on a pinned channel, before any answer, shows that the channel's key no
 * longer answers: the reconnect was refused or reset (`SERVER_UNREACHABLE`) or presented another key
 * (`TLS_BINDING_MISMATCH`: the server restarted with a new one, or something else now answers there); on a channel
 * whose TLS a middlebox terminates, the enclave refused a body sealed to the attested HPKE key (`HPKE_KEY_UNKNOWN`).
 */
export function isKeyGone(err: BlindBoxError): boolean {
  return err.code === 'SERVER_UNREACHABLE' || err.code === 'TLS_BINDING_MISMATCH' || (err instanceof ChannelError && err.serverCode === 'HPKE_KEY_UNKNOWN');
}

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A new connection was attested (a new enclave, or a known one attested again). */
  attested(enclave: AttestedEnclave): void;
  /** The list of enclaves (`enclaves`) changed. */
  changed(): void;
}

export class ChannelPool {
  readonly #idle: AttestedChannel[] = [];
  /** Channels idle, lent out or being opened: never more than `maxConnections`. */
  #count = 0;
  readonly #waiters = new Set<() => void>();
  /** Key (SPKI SHA-256) → its latest verified attestation. */
  readonly #enclaves = new Map<string, AttestedEnclave>();
  readonly #refused: RefusedKeys = new Map();
  #latest: AttestedEnclave | undefined;
  #closed = false;
  readonly #origin: URL;
  readonly #options: PoolOptions;
  readonly #events: PoolEvents;

  constructor(origin: URL, options: PoolOptions, events: PoolEvents) {
    this.#origin = origin;
    this.#options = options;
    this.#events = events;
  }

  /** The most recent attestation (undefined before the first). */
  get latest(): AttestedEnclave | undefined {
    return this.#latest;
  }

  /**
   * The enclaves attested in this session that still answer, each with its latest attestation, most recent first. An
   * enclave leaves when a connection pinned to its key fails before an answer because that key no longer answers
   * (`isKeyGone`: refused, reset, or another key presented: a restarted server), and comes back when one of its
   * connections answers again (a fleet's balancer may have sent one connection elsewhere). Empty once every one is gone.
   */
  get enclaves(): readonly AttestedEnclave[] {
    return [...this.#enclaves.values()].sort((a, b) => b.attestation.verifiedAt - a.attestation.verifiedAt);
  }

  /** Whether `enclave`'s attestation is still within the policy's maximum age. */
  isFresh(enclave: AttestedEnclave): boolean {
    return this.remainingMs(enclave) > 0;
  }

  remainingMs(enclave: AttestedEnclave): number {
    return enclave.attestation.verifiedAt + this.#options.policy.maxAgeSeconds * 1000 - this.#options.clock().getTime();
  }

  /** A new budget of `attempts`, for one request: pass it to each `acquire` the request makes. */
  budget(): AttemptBudget {
    return new AttemptBudget(this.#options.attempts, this.#options.log);
  }

  /**
   * Lends a channel whose attestation is fresh: an idle one, else a new one (attested on its own connection, retried
   * on a new connection while `budget` allows), else waits for one to be released. Each channel lent, and each failed
   * attestation, spends one attempt of `budget` (default: a budget of its own). Give it back with `release`.
   */
  async acquire(signal?: AbortSignal, budget = this.budget()): Promise<AttestedChannel> {
    for (;;) {
      this.#throwIfClosed();
      if (signal?.aborted) throw new ChannelError('CANCELLED', 'The request was cancelled.', { cause: signal.reason });
      // The most recently used first: the likeliest to still have its socket.
      const idle = this.#idle.pop();
      if (idle) {
        if (this.isFresh(idle.enclave)) {
          budget.spend();
          return idle;
        }
        this.#discard(idle);
        continue;
      }
      if (this.#count < this.#options.maxConnections) return this.#open(signal, budget);
      await this.#slot(signal);
    }
  }

  /**
   * Takes a channel back; one that failed (`reusable` false) is closed and its place freed, and its enclave leaves the
   * list when `failure` says its key no longer answers. One that carried an answer puts its enclave back on the list.
   */
  release(channel: AttestedChannel, reusable: boolean, failure?: BlindBoxError): void {
    const key = channel.enclave.binding.attestedKeySha256;
    if (!reusable && failure && isKeyGone(failure) && this.#enclaves.get(key) === channel.enclave) {
      this.#enclaves.delete(key);
      this.#events.changed();
    } else if (reusable && !this.#enclaves.has(key)) {
      this.#enclaves.set(key, channel.enclave);
      this.#events.changed();
    }
    if (!reusable || this.#closed) return this.#discard(channel);
    this.#idle.push(channel);
    this.#wake();
  }

  /** Closes the idle channels, so that the next request attests a new connection. */
  dropIdle(): void {
    for (const channel of this.#idle.splice(0)) this.#discard(channel);
  }

  /** Closes every idle channel; channels lent out are closed when released. Later acquisitions fail with CANCELLED. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    await Promise.all(this.#idle.splice(0).map((c) => c.client.destroy().catch(() => undefined)));
  }

  async #open(signal: AbortSignal | undefined, budget: AttemptBudget): Promise<AttestedChannel> {
    this.#count++;
    try {
      for (;;) {
        budget.spend();
        try {
          const channel = await openAttestedChannel(this.#origin, this.#options, this.#refused, signal);
          if (this.#closed) void channel.client.destroy().catch(() => undefined);
          this.#throwIfClosed();
          this.#record(channel.enclave);
          return channel;
        } catch (err) {
          if (!budget.retry(err as BlindBoxError, `to attest a connection to ${this.#origin.host} failed`)) throw err;
        }
      }
    } catch (err) {
      this.#count--;
      this.#wake();
      throw err;
    }
  }

  #record(enclave: AttestedEnclave): void {
    this.#enclaves.set(enclave.binding.attestedKeySha256, enclave);
    this.#latest = enclave;
    this.#events.attested(enclave);
    this.#events.changed();
  }

  #discard(channel: AttestedChannel): void {
    this.#count--;
    void channel.client.destroy().catch(() => undefined);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves when a channel may be free (released, discarded, or the pool closed); rejects when `signal` aborts. */
  #slot(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        this.#waiters.delete(done);
        reject(new ChannelError('CANCELLED', 'The request was cancelled.', { cause: signal?.reason }));
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  #throwIfClosed(): void {
    if (this.#closed) throw new ChannelError('CANCELLED', 'The attested session is closed.');
  }
}
