/**
 * A bounded pool of attested channels to one origin (one enclave or a fleet behind a TCP balancer) and the set of
 * enclaves they attested. Each channel is pinned to the key its own connection attested (see attested-channel.ts);
 * the pool only decides how many exist, which one a request gets, when one is too old to use, and how often a
 * failed attempt is tried again on a new connection.
 */
import { ChannelError, InputError, type BlindBoxError } from '../errors.js';
import { openAttestedChannel, type AttestedChannel, type ChannelOptions, type RefusedKeys } from './attested-channel.js';
import type { AttestedEnclave } from './attested-enclave.js';

export interface PoolOptions extends ChannelOptions {
  /** Most connections open at once (each one socket, one request at a time). */
  readonly maxConnections: number;
  /** Most attempts to make an attested connection (or to send a request whose connection failed before it was answered). */
  readonly attempts: number;
  /** Where the reason of each retried attempt goes. */
  readonly log: (line: string) => void;
}

/** Whether a failure may be tried again on a new connection: not when the caller gave up or the server was too slow. */
export function isRetryable(err: BlindBoxError): boolean {
  return !(err instanceof InputError) && err.code !== 'CANCELLED' && err.code !== 'TIMEOUT';
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

  constructor(
    private readonly origin: URL,
    private readonly options: PoolOptions,
    /** Told of every attestation the pool makes. */
    private readonly onAttested: (enclave: AttestedEnclave) => void,
  ) {}

  /** The most recent attestation (undefined before the first). */
  get latest(): AttestedEnclave | undefined {
    return this.#latest;
  }

  /** Every enclave attested in this session, each with its latest attestation, most recent first. */
  get enclaves(): readonly AttestedEnclave[] {
    return [...this.#enclaves.values()].sort((a, b) => b.attestation.verifiedAt - a.attestation.verifiedAt);
  }

  /** Whether `enclave`'s attestation is still within the policy's maximum age. */
  isFresh(enclave: AttestedEnclave): boolean {
    return this.remainingMs(enclave) > 0;
  }

  remainingMs(enclave: AttestedEnclave): number {
    return enclave.attestation.verifiedAt + this.options.policy.maxAgeSeconds * 1000 - this.options.clock().getTime();
  }

  /**
   * Lends a channel whose attestation is fresh: an idle one, else a new one (attested on its own connection, retried
   * on a new connection up to `attempts` times), else waits for one to be released. Give it back with `release`.
   */
  async acquire(signal?: AbortSignal): Promise<AttestedChannel> {
    for (;;) {
      this.#throwIfClosed();
      if (signal?.aborted) throw new ChannelError('CANCELLED', 'The request was cancelled.', { cause: signal.reason });
      // The most recently used first: the likeliest to still have its socket.
      const idle = this.#idle.pop();
      if (idle) {
        if (this.isFresh(idle.enclave)) return idle;
        this.#discard(idle);
        continue;
      }
      if (this.#count < this.options.maxConnections) return this.#open(signal);
      await this.#slot(signal);
    }
  }

  /** Takes a channel back; one that failed (`reusable` false) is closed and its place freed. */
  release(channel: AttestedChannel, reusable: boolean): void {
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

  async #open(signal: AbortSignal | undefined): Promise<AttestedChannel> {
    this.#count++;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const channel = await openAttestedChannel(this.origin, this.options, this.#refused, signal);
          if (this.#closed) void channel.client.destroy().catch(() => undefined);
          this.#throwIfClosed();
          this.#record(channel.enclave);
          return channel;
        } catch (err) {
          const e = err as BlindBoxError;
          if (attempt >= this.options.attempts || !isRetryable(e)) throw e;
          this.options.log(`attempt ${attempt} of ${this.options.attempts} to attest a connection to ${this.origin.host} failed (${e.code}: ${e.message}); trying a new connection`);
        }
      }
    } catch (err) {
      this.#count--;
      this.#wake();
      throw err;
    }
  }

  #record(enclave: AttestedEnclave): void {
    this.#enclaves.set(enclave.binding.presentedSpkiSha256, enclave);
    this.#latest = enclave;
    this.onAttested(enclave);
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
