/**
 * The attested session the local endpoint forwards through, made when first needed: an endpoint may start before its
 * server does, or outlive a server that failed attestation, so a failed attempt is remembered (for
 * `GET /v1/verification`) and the next request attests again. An attested session renews and replaces its own
 * connections (channel-pool.ts), each attested on itself, so one session serves the endpoint's whole life.
 */
import { BlindBoxError, ChannelError } from '../errors.js';
import type { AttestationPolicy } from '../policy.js';
import { AttestedSession, type ConnectOptions } from '../transport/session.js';

/** Where the endpoint gets its attested session; the CLI connects one itself, the extension can lend its own. */
export interface SessionSource {
  /** The server's origin, for the verification document. */
  readonly server: string;
  /** The policy sessions are attested under. */
  readonly policy: AttestationPolicy;
  /** An attested session; throws the core's `AttestationError` or `ChannelError` when none can be made now. */
  session(): Promise<AttestedSession>;
  /** The failure of the latest attempt, when it failed (cleared by the next success). */
  readonly lastFailure: BlindBoxError | undefined;
  close(): Promise<void>;
}

/** A `SessionSource` that connects to `url` with `options` (as `connect` takes them). */
export function connectingSource(url: string, options: ConnectOptions & { readonly policy: AttestationPolicy }): SessionSource {
  let current: Promise<AttestedSession> | undefined;
  let lastFailure: BlindBoxError | undefined;
  let closed = false;
  // Closing cancels an attestation under way, rather than waiting out its timeout.
  const stop = new AbortController();
  const attempt = (): Promise<AttestedSession> => {
    const made = AttestedSession.connect(url, { ...options, signal: stop.signal });
    current = made;
    made.then(
      () => (lastFailure = undefined),
      (err: unknown) => {
        if (err instanceof BlindBoxError) lastFailure = err;
        if (current === made) current = undefined;
      },
    );
    return made;
  };
  return {
    server: new URL(url).origin,
    policy: options.policy,
    get lastFailure() {
      return lastFailure;
    },
    async session() {
      if (closed) throw new ChannelError('CANCELLED', 'The local endpoint is closed.');
      return current ?? attempt();
    },
    async close() {
      closed = true;
      stop.abort();
      const last = current;
      current = undefined;
      await last?.then((s) => s.close(), () => undefined);
    },
  };
}
