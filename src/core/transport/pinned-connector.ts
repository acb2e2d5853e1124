/**
 * An undici connector that decides, for every new TLS connection and before
 * a single request byte is written, whether the certificate the server
 * presents is acceptable. Attestation replaces CA trust: the check compares
 * the certificate's SubjectPublicKeyInfo with the one the enclave attested.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { rootCertificates, type TLSSocket } from 'node:tls';
import { buildConnector, Client } from 'undici';
import { ChannelError, type BlindBoxError } from '../errors.js';
import { endSentence, oneLine } from '../../shared/text.js';
import { describeRoute, type ProxyRoute } from './proxy-route.js';
import { TIMEOUT_CODES } from './responses.js';
import { certificateNames, presentedFact, spkiOf } from './attested-enclave.js';

/**
 * What a connection must satisfy. While attesting, the first connection is
 * accepted and its certificate recorded (the attestation must then vouch for
 * it); once pinned, only the attested key is accepted.
 */
export class TlsPin {
  #pinned: Uint8Array | undefined;
  #inspected = false;
  #presented: X509Certificate | undefined;
  #authorized: { readonly authorized: boolean; readonly authorizationError?: string } = { authorized: false };
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

  /** Whether the attestation connection's chain was valid for the system's trust store and the server's name. */
  get presentedTrust(): { readonly authorized: boolean; readonly authorizationError?: string } {
    return this.#authorized;
  }

  /** How many TLS connections this pin has accepted. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * From now on only `spki` is accepted; `inspected`: it is an inspecting middlebox's key (bodies are sealed to the
   * enclave), and its chain must also stay valid for the system's trust store.
   */
  pin(spki: Uint8Array, inspected = false): void {
    this.#pinned = spki;
    this.#inspected = inspected;
  }

  /** Checks one new connection's certificate (and what TLS said of its chain); returns the error that must drop it, if any. */
  check(cert: X509Certificate | undefined, trust: { readonly authorized: boolean; readonly authorizationError?: string } = { authorized: false }): BlindBoxError | undefined {
    if (!cert) return new ChannelError('PROTOCOL_ERROR', 'The server did not present a TLS certificate.');
    if (this.#pinned === undefined) {
      // Attesting: exactly one connection, whose certificate the document must bind.
      if (this.#presented) return new ChannelError('TLS_BINDING_MISMATCH', 'The server opened a second connection during attestation; the attested connection cannot be identified.');
      const refused = this.#refuse(cert);
      if (refused) return refused;
      this.#presented = cert;
      this.#authorized = trust;
    } else if (this.#inspected && !trust.authorized) {
      return new ChannelError('INSPECTED_TLS_UNTRUSTED', `The inspected TLS connection (${certificateNames(cert)}) is no longer valid for this system's trust store (${oneLine(trust.authorizationError ?? 'unverified', 80)}).`, { presented: presentedFact(cert) });
    } else if (Buffer.compare(spkiOf(cert), this.#pinned) !== 0) {
      return new ChannelError(
        'TLS_BINDING_MISMATCH',
        `The server presented a TLS key (certificate SHA-256 ${cert.fingerprint256.replaceAll(':', '').slice(0, 16).toLowerCase()}…, ${certificateNames(cert)}) other than the attested one: it is not the attested enclave, or a TLS-inspecting proxy or firewall sits in between.`,
        { presented: presentedFact(cert) },
      );
    }
    this.#connections++;
    return undefined;
  }
}

/**
 * A connector for undici that applies `pin` to every new connection, made along `route`: directly, or inside an
 * HTTP CONNECT tunnel through the proxy. The TLS handshake and the pin check are the same on both routes: the tunnel
 * only replaces the TCP socket the TLS runs over, so a proxy sees TLS records, never a request byte in clear.
 */
export function pinnedConnector(pin: TlsPin, timeoutMs: number, route: ProxyRoute = { kind: 'direct', why: 'unconfigured' }, extraCas: readonly string[] = []): buildConnector.connector {
  // CA validation does not refuse on purpose: the server's certificate is self-signed, and trust comes from the
  // attestation pin. The CAs (Node's, NODE_EXTRA_CA_CERTS, `extraCas`) only judge an inspecting middlebox's chain.
  const ca = extraCas.length > 0 ? [...rootCertificates, ...extraCas] : undefined;
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0, timeout: timeoutMs, ...(ca ? { ca } : {}) });
  const handshake: buildConnector.connector = (options, callback) => {
    base(options, (err, socket) => {
      if (err) return callback(routeFailure(err, options, route), null);
      const tls = socket as TLSSocket;
      // CA validation does not refuse (rejectUnauthorized is off), but Node still judges the chain and the name: an
      // inspected connection is accepted only when that judgement holds (attested-enclave.ts `bindTls`).
      const trust = { authorized: tls.authorized === true, authorizationError: tls.authorizationError === undefined ? undefined : String(tls.authorizationError) };
      const failure = pin.check(typeof tls.getPeerX509Certificate === 'function' ? tls.getPeerX509Certificate() : undefined, trust);
      if (failure) {
        tls.destroy();
        return callback(failure, null);
      }
      callback(null, tls);
    });
  };
  if (route.kind === 'direct') return handshake;
  return (options, callback) => {
    openTunnel(route, targetOf(options), timeoutMs).then(
      (socket) => handshake({ ...options, httpSocket: socket }, callback),
      (err: unknown) => callback(err as Error, null),
    );
  };
}

/** `host:port` of a connection undici asks for. */
function targetOf(options: buildConnector.Options): string {
  return `${options.hostname.includes(':') && !options.hostname.startsWith('[') ? `[${options.hostname}]` : options.hostname}:${options.port || 443}`;
}

/**
 * Opens a CONNECT tunnel to `target` through the route's proxy, with undici's own client (it writes the request and
 * parses the answer). Resolves with the raw socket once the proxy answered 200; anything else is a typed error that
 * names the proxy (never its credentials). `signal` gives up (and closes the connection to the proxy) early.
 */
export async function openTunnel(route: Extract<ProxyRoute, { kind: 'proxy' }>, target: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  const proxy = new Client(route.proxy, { connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const { statusCode, socket } = await proxy.connect({
      path: target,
      signal,
      headers: { host: target, ...(route.authorization ? { 'proxy-authorization': route.authorization } : {}) },
    });
    // undici hands over the proxy connection itself: a net.Socket.
    if (statusCode === 200) return socket as Socket;
    socket.on('error', () => undefined).destroy();
    if (statusCode === 407) {
      throw new ChannelError(
        'PROXY_AUTH_REQUIRED',
        `The proxy ${route.proxy} asked for credentials (HTTP 407)${route.authorization ? ' and refused the ones given' : ''}: give them in the proxy URL (http://user:password@host:port).`,
        { status: statusCode },
      );
    }
    throw new ChannelError('SERVER_UNREACHABLE', `Cannot talk to ${target} through proxy ${route.proxy}: the proxy refused the tunnel (HTTP ${statusCode}).`, { status: statusCode });
  } catch (err) {
    if (err instanceof ChannelError || TIMEOUT_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    const reason = (err as NodeJS.ErrnoException).code || (err as Error).message || String(err);
    throw new ChannelError('SERVER_UNREACHABLE', `Cannot talk to ${target} through proxy ${route.proxy}: the proxy cannot be reached (${oneLine(reason, 120)}).`, { cause: err });
  } finally {
    // The tunnel's socket is no longer the client's (undici hands it over on a 200): closing the client leaves it open.
    void proxy.close().catch(() => undefined);
  }
}

/** A connection that failed on `route`, in words that name the route; timeouts stay undici's (they map to TIMEOUT). */
function routeFailure(err: Error, options: buildConnector.Options, route: ProxyRoute): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (err instanceof ChannelError || TIMEOUT_CODES.has(code)) return err;
  return new ChannelError('SERVER_UNREACHABLE', endSentence(`Cannot talk to ${targetOf(options)} ${describeRoute(route)}: ${oneLine(code || err.message || String(err), 120)}`), { cause: err });
}
