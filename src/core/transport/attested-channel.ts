/**
 * One attested connection: an undici `Client` with one socket (pipelining 1) whose first request is the attestation
 * of the key that socket presents, made with a fresh nonce. Why this is enough for "no request byte to an unattested
 * key", including after undici's own reconnects:
 *
 * - undici writes a request only to a socket its `connect` function handed it, and that function is ours
 *   (`pinnedConnector`): it runs after the TLS handshake and before the socket is handed over.
 * - Before the attestation is verified the pin is open for exactly one socket, and the only request dispatched on the
 *   Client is `GET /attestation?nonce=…` (the Client is private to `openAttestedChannel` until it returns). A second
 *   socket while attesting (the first closed) is refused: the document could not be tied to it.
 * - Once verified, the pin holds the attested key; every later socket of this Client (undici reconnects after a
 *   keep-alive close) must present exactly that key, or it is destroyed before undici sees it and the request fails
 *   with `TLS_BINDING_MISMATCH` without a byte written. A balancer that sends the reconnect to another enclave therefore
 *   costs a retry on a new channel (which attests its own socket), never a request to the wrong key.
 *
 * So every request on a channel, bar its own attestation request, travels on a socket presenting the key of
 * `channel.enclave`, which is the enclave of every response it carries.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, type Dispatcher } from 'undici';
import { verifyAttestation } from '../attestation/verify.js';
import type { TrustedRoot } from '../attestation/roots.js';
import { CLIENT_NONCE_BYTES, MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';
import { ENDPOINTS } from '../../protocol/endpoints.js';
import { AttestationError, BlindBoxError, ChannelError, underChainRoot } from '../errors.js';
import type { AttestationPolicy } from '../policy.js';
import { startDeadline } from './deadline.js';
import { toHex } from '../util/hex.js';
import { sha256Hex } from '../util/sha256.js';
import { attestedEnclave, bindTls, type AttestedEnclave } from './attested-enclave.js';
import { pinnedConnector, TlsPin } from './pinned-connector.js';
import type { ProxyRoute } from './proxy-route.js';
import { spkiOf } from './attested-enclave.js';
import { abandonBody, busyWaitMs, readBodyLimited, toChannelError, throwForStatus } from './responses.js';

/** What attesting a channel needs. */
export interface ChannelOptions {
  readonly roots: readonly TrustedRoot[];
  readonly policy: AttestationPolicy;
  readonly timeoutMs: number;
  readonly clock: () => Date;
  /** How every connection is made: directly or through a proxy (default direct). */
  readonly route?: ProxyRoute;
  /**
   * Accept TLS that a middlebox terminates, if its certificate is valid for the system's trust store and the document
   * attests an HPKE key: the channel is then unbound (`binding.bound` false) and carries only sealed bodies. Default false.
   */
  readonly allowInspectedTls?: boolean;
  /** PEM certificates trusted, besides Node's CAs and NODE_EXTRA_CA_CERTS, to judge an inspecting middlebox's chain. */
  readonly inspectionCas?: readonly string[];
}

/** An attested connection; `enclave` is the one key its sockets may present. */
export interface AttestedChannel {
  readonly client: Client;
  readonly enclave: AttestedEnclave;
}

/**
 * Keys (SPKI SHA-256) that failed attestation in this session, with the reason: a later connection presenting one is
 * refused at once, with that same reason, before even the attestation request is written to it.
 */
export type RefusedKeys = Map<string, BlindBoxError>;

/** Busy answers to the attestation request (429/503 with `Retry-After`, e.g. a server's per-address rate) asked again. */
const ATTESTATION_BUSY_RETRIES = 3;

/**
 * Opens a connection to `origin` and attests the key it presents on it; the returned channel is pinned to that key.
 * A busy answer to the attestation request is asked again on a new connection after the wait the server asks, as
 * long as that fits in the attestation's deadline; the last one is refused as any other status.
 */
export async function openAttestedChannel(origin: URL, options: ChannelOptions, refused: RefusedKeys, signal: AbortSignal | undefined): Promise<AttestedChannel> {
  // Connect, TLS, request and every byte of the document within timeoutMs in total: a dribbling server cannot stretch it.
  const deadline = startDeadline(options.timeoutMs, `The attestation of ${origin.host}`, signal);
  const ends = Date.now() + options.timeoutMs;
  let verdict = false;
  let pin: TlsPin | undefined;
  let client: Client | undefined;
  try {
    let nonce: Uint8Array;
    let response: Dispatcher.ResponseData;
    for (let attempt = 0; ; attempt++) {
      pin = new TlsPin((cert) => refused.get(sha256Hex(spkiOf(cert))));
      client = new Client(origin, { connect: pinnedConnector(pin, options.timeoutMs, options.route, options.inspectionCas), pipelining: 1 });
      nonce = randomBytes(CLIENT_NONCE_BYTES);
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
      const waitMs = busyWaitMs(response, Date.now());
      if (waitMs === undefined || attempt >= ATTESTATION_BUSY_RETRIES || Date.now() + waitMs >= ends) break;
      await response.body.dump({ limit: 16 * 1024, signal: deadline.signal }).catch(() => undefined);
      await client.destroy().catch(() => undefined);
      try {
        await delay(waitMs, undefined, { signal: deadline.signal });
      } catch (err) {
        throw toChannelError(err, origin);
      }
    }
    await throwForStatus(response, 'attestation', { origin, timeoutMs: options.timeoutMs });
    const type = String(response.headers['content-type'] ?? '');
    if (!/^application\/cbor\b/i.test(type)) {
      abandonBody(response.body);
      throw new ChannelError('PROTOCOL_ERROR', `The server answered ${ENDPOINTS.attestation} with ${JSON.stringify(type || 'no content type')}, not application/cbor.`);
    }
    const document = await readBodyLimited(response.body, { maxBytes: MAX_DOCUMENT_BYTES, timeoutMs: options.timeoutMs, what: 'attestation document', origin });
    const presented = pin.presented;
    if (!presented) throw new ChannelError('PROTOCOL_ERROR', 'No TLS certificate was seen on the attestation connection.');
    verdict = true;
    const attestation = verifyAttestation(document, {
      now: options.clock(),
      roots: options.roots,
      expectedPcrs: options.policy.pcrs,
      expectedNonce: nonce,
      maxAgeMs: options.policy.maxAgeSeconds * 1000,
    });
    const presentedSpki = spkiOf(presented);
    const inspection = { allowInspectedTls: options.allowInspectedTls === true, ...pin.presentedTrust };
    const binding = underChainRoot(attestation.root, () => bindTls(attestation, presented, presentedSpki, `${origin.hostname}:${origin.port || 443}`, inspection));
    pin.pin(presentedSpki, !binding.bound);
    return { client, enclave: attestedEnclave(attestation, document, presented, binding) };
  } catch (err) {
    await client?.destroy().catch(() => undefined);
    // The document was read and judged: this key is not to be trusted for the rest of the session.
    if (verdict && pin?.presented && (err instanceof AttestationError || err instanceof ChannelError)) refused.set(sha256Hex(spkiOf(pin.presented)), err);
    // Once aborted, undici fails with the signal's reason or its own wrapping of it; the deadline knows the real cause.
    // undici's connect and headers timeouts (same length, started later) can still fire first on a busy machine:
    // they too mean the attestation did not complete in time, and say so in the same words.
    const failure = err instanceof AttestationError ? undefined : (deadline.failure() ?? (err instanceof ChannelError && err.code === 'TIMEOUT' ? deadline.timeout(err) : undefined));
    throw failure ?? (err instanceof BlindBoxError ? err : toChannelError(err, origin));
  } finally {
    deadline.dispose();
  }
}
