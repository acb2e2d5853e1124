/**
 * An undici connector that decides, for every new TLS connection and before
 * a single request byte is written, whether the certificate the server
 * presents is acceptable. Attestation replaces CA trust: the check compares
 * the certificate's SubjectPublicKeyInfo with the one the enclave attested.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { ChannelError, type BlindBoxError } from '../errors.js';
import { spkiOf } from './attested-enclave.js';

/**
 * What a connection must satisfy. While attesting, the first connection is
 * accepted and its certificate recorded (the attestation must then vouch for
 * it); once pinned, only the attested key is accepted.
 */
export class TlsPin {
  #pinned: Uint8Array | undefined;
  #presented: X509Certificate | undefined;
  #connections = 0;
  readonly #refuse: (cert: X509Certificate) => BlindBoxError | undefined;

  /** `refuse` may turn down the attestation connection's certificate before any byte is written to it. */
  constructor(refuse: (cert: X509Certificate) => BlindBoxError | undefined = () => undefined) {
    this.#refuse = refuse;
  }

  /** The certificate presented on the attestation connection. */
  get presented(): X509Certificate | undefined {
    return this.#presented;
  }

  /** How many TLS connections this pin has accepted. */
  get connections(): number {
    return this.#connections;
  }

  /** From now on only `spki` is accepted. */
  pin(spki: Uint8Array): void {
    this.#pinned = spki;
  }

  /** Checks one new connection's certificate; returns the error that must drop it, if any. */
  check(cert: X509Certificate | undefined): BlindBoxError | undefined {
    if (!cert) return new ChannelError('PROTOCOL_ERROR', 'The server did not present a TLS certificate.');
    if (this.#pinned === undefined) {
      // Attesting: exactly one connection, whose certificate the document must bind.
      if (this.#presented) return new ChannelError('TLS_BINDING_MISMATCH', 'The server opened a second connection during attestation; the attested connection cannot be identified.');
      const refused = this.#refuse(cert);
      if (refused) return refused;
      this.#presented = cert;
    } else if (Buffer.compare(spkiOf(cert), this.#pinned) !== 0) {
      return new ChannelError(
        'TLS_BINDING_MISMATCH',
        `The server presented a TLS key (certificate SHA-256 ${cert.fingerprint256.replaceAll(':', '').slice(0, 16).toLowerCase()}…) other than the attested one: it is not the attested enclave, or something sits in between.`,
      );
    }
    this.#connections++;
    return undefined;
  }
}

/** A connector for undici that applies `pin` to every new connection. */
export function pinnedConnector(pin: TlsPin, timeoutMs: number): buildConnector.connector {
  // CA validation is off on purpose: the server's certificate is self-signed, and trust comes from the attestation pin.
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0, timeout: timeoutMs });
  return (options, callback) => {
    base(options, (err, socket) => {
      if (err) return callback(err, null);
      const tls = socket as TLSSocket;
      const failure = pin.check(typeof tls.getPeerX509Certificate === 'function' ? tls.getPeerX509Certificate() : undefined);
      if (failure) {
        tls.destroy();
        return callback(failure, null);
      }
      callback(null, tls);
    });
  };
}
