/**
 * Bodies encrypted to the enclave (`blindbox-hpke/1`): the wire contract both sides keep, so that audio and transcript
 * stay confidential through a middlebox that terminates TLS (a company's inspection proxy, an L7 balancer). The
 * enclave generates an HPKE key pair at start-up and attests its public key in `user_data` (`HPKE_USER_DATA_KEY`);
 * the client seals the request body to it and the enclave seals the answer back under that request's context.
 *
 * Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (RFC 9180 ids 0x0020, 0x0001, 0x0002), as Tinfoil's EHBP.
 * Framing (as EHBP): each chunk is `uint32 big-endian length ‖ ciphertext`. Unlike EHBP, the last chunk is marked
 * (`FINAL_AAD`), so a body cut at a chunk boundary is refused, and the request's identity is the HPKE `info`, so a
 * body cannot be moved to another request. Only data and pure functions here; shared/sealed-body.ts does the crypto.
 */

/** Version label: the first line of `info`, and the prefix of the export label. */
export const SEALED_BODY_VERSION = 'blindbox-hpke/1';

/** The suite, as the README and the trust view name it. */
export const SEALED_BODY_SUITE = 'DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM';

/** The `user_data` key of the attested HPKE public key (32 raw X25519 bytes). */
export const HPKE_USER_DATA_KEY = 'hpke_public_key';

/** X25519 public keys and encapsulated keys are 32 bytes. */
export const HPKE_KEY_BYTES = 32;

/** Headers of a sealed request (all lower-case; values hex unless said). */
export const SEALED_HEADERS = {
  /** The HPKE encapsulated key `enc` (64 hex): its presence says the body is sealed. */
  encapsulatedKey: 'blindbox-encapsulated-key',
  /** The HPKE public key the body is sealed to (64 hex): an enclave that holds another (restarted) refuses at once. */
  hpkeKey: 'blindbox-hpke-key',
  /** When the request was made, ms since the epoch on the enclave's clock (the client reckons it from the document). */
  requestTime: 'blindbox-request-time',
  /** The media type of the plaintext body (a request's `multipart/form-data; boundary=…`, an answer's type). */
  contentType: 'blindbox-content-type',
  /** Response: the 32 random bytes (64 hex) that make this answer's key unique (as EHBP's `Ehbp-Response-Nonce`). */
  responseNonce: 'blindbox-response-nonce',
} as const;

/** `Content-Type` of a sealed body, either way: a middlebox sees an opaque body, not multipart it might parse. */
export const SEALED_CONTENT_TYPE = 'application/vnd.blindbox.hpke-body';

/** Most plaintext bytes in one chunk; every chunk but the final one holds exactly this many. */
export const SEALED_CHUNK_BYTES = 256 * 1024;
/** AES-256-GCM's tag. */
export const SEALED_TAG_BYTES = 16;
/** The length prefix of each chunk. */
export const SEALED_PREFIX_BYTES = 4;

/** AAD of every chunk but the last, and of the last: the sequence number is HPKE's own (the nonce is base ⊕ seq). */
export const MORE_AAD: Uint8Array = Uint8Array.of(0);
export const FINAL_AAD: Uint8Array = Uint8Array.of(1);

/** Export label of the request body's secret: its chunks are sealed with AES-256-GCM under keys derived from it. */
export const REQUEST_EXPORT_LABEL = `${SEALED_BODY_VERSION} request`;
/** Export label of the answer's secret (EHBP: "ehbp response"; ours names its version). */
export const RESPONSE_EXPORT_LABEL = `${SEALED_BODY_VERSION} response`;
/** Response nonce length: max(Nn, Nk) of AES-256-GCM, as OHTTP and EHBP. */
export const RESPONSE_NONCE_BYTES = 32;

/** How far a request's time may be from the enclave's clock; the enclave remembers each `enc` twice this long. */
export const REQUEST_TIME_WINDOW_MS = 5 * 60_000;

/** What identifies one sealed request: all of it goes into HPKE's `info`, so a body opens only under these headers. */
export interface SealedRequestIdentity {
  readonly method: string;
  /** The path without query (`/v1/audio/transcriptions`). */
  readonly path: string;
  /** The plaintext's media type, boundary included. */
  readonly contentType: string;
  /** The request's `blindbox-receipt-nonce` (hex, lower-case): unique per request, and what its receipt signs. */
  readonly receiptNonce: string;
  readonly requestTime: number;
  /** The HPKE public key sealed to (hex, lower-case). */
  readonly hpkeKey: string;
}

/** HPKE `info` of a request: the version, then each field of its identity on its own line. */
export function sealedRequestInfo(id: SealedRequestIdentity): Uint8Array {
  return new TextEncoder().encode([SEALED_BODY_VERSION, id.method.toUpperCase(), id.path, id.contentType, id.receiptNonce.toLowerCase(), String(id.requestTime), id.hpkeKey.toLowerCase()].join('\n'));
}

/** Chunks of a body of `plaintextBytes`: full chunks, then the final one (possibly shorter, and empty for an empty body). */
export function sealedChunkCount(plaintextBytes: number): number {
  return Math.max(1, Math.ceil(plaintextBytes / SEALED_CHUNK_BYTES));
}

/** The sealed length of a body of `plaintextBytes`, so that a sealed request keeps a `Content-Length`. */
export function sealedLength(plaintextBytes: number): number {
  return plaintextBytes + sealedChunkCount(plaintextBytes) * (SEALED_PREFIX_BYTES + SEALED_TAG_BYTES);
}

/** 64 lower-case hex characters: an `enc`, a key, a response nonce. */
export const KEY_HEX = /^[0-9a-f]{64}$/;
