/** Sizes both sides must agree on: the client checks them before sending or while reading, the server enforces them. */

/** Largest audio upload a server accepts by default (413 above); the client refuses larger files before sending. */
export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

/** Largest attestation document: a real one is a few KiB, so anything near this is not from an NSM. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

/** The attestation nonce a server accepts is 16 to 64 bytes (32 to 128 hex characters; Nitro's field takes 1024). */
export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;

/** A nonce on the wire: MIN_NONCE_BYTES..MAX_NONCE_BYTES bytes as hex (the attestation query, the receipt header). */
export const NONCE_HEX = new RegExp(`^(?:[0-9a-fA-F]{2}){${MIN_NONCE_BYTES},${MAX_NONCE_BYTES}}$`);

/** The nonce a BlindBox client asks with: fresh random bytes for every attestation. */
export const CLIENT_NONCE_BYTES = 32;
