/**
 * The cryptography of `blindbox-hpke/1` (protocol/sealed-body.ts), run by both sides: HPKE from `@hpke/core` for the
 * request, an answer key exported from the request's context (derived as OHTTP and EHBP do, with node's HKDF) and
 * node's AES-256-GCM for the answer. Errors are neutral (`SealedBodyError`); each side maps them to its own codes.
 */
import { createCipheriv, createDecipheriv, hkdfSync, type webcrypto } from 'node:crypto';
import { Transform } from 'node:stream';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import {
  FINAL_AAD,
  HPKE_KEY_BYTES,
  MORE_AAD,
  REQUEST_EXPORT_LABEL,
  RESPONSE_EXPORT_LABEL,
  SEALED_CHUNK_BYTES,
  SEALED_PREFIX_BYTES,
  SEALED_TAG_BYTES,
} from '../protocol/sealed-body.js';

/** Why a sealed body was refused. */
export type SealedBodyFailure =
  /** A chunk did not authenticate: changed, dropped, reordered, replayed, another request's, or another `enc`. */
  | 'NOT_AUTHENTIC'
  /** The body ended before its final chunk. */
  | 'TRUNCATED'
  /** The framing is wrong: a length out of range, a chunk before the final one not full, bytes after the final one. */
  | 'MALFORMED'
  /** More sealed bytes than allowed. */
  | 'TOO_LARGE';

export class SealedBodyError extends Error {
  constructor(
    readonly failure: SealedBodyFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SealedBodyError';
  }
}

/** The length prefix's top bit marks the final chunk (the AAD authenticates it); the rest is the ciphertext length. */
const FINAL_BIT = 0x8000_0000;
const MAX_CIPHERTEXT = SEALED_CHUNK_BYTES + SEALED_TAG_BYTES;

let suite: CipherSuite | undefined;
/** DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
function hpke(): CipherSuite {
  suite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return suite;
}

/** What seals chunks in order (an HPKE sender context, or the answer's key). */
interface ChunkSealer {
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** What opens chunks in order. */
interface ChunkOpener {
  open(ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** An HPKE key pair made where it is used (inside the enclave); the private key never leaves this process. */
export interface HpkeKeyPair {
  /** The 32 raw bytes of the X25519 public key, as attested. */
  readonly publicKey: Uint8Array;
  readonly privateKey: webcrypto.CryptoKey;
}

export async function generateHpkeKeyPair(): Promise<HpkeKeyPair> {
  const pair = await hpke().kem.generateKeyPair();
  return { publicKey: new Uint8Array(await hpke().kem.serializePublicKey(pair.publicKey)), privateKey: pair.privateKey };
}

/** One sealed request's context on the client: `enc` for its header, chunks to seal, the answer to open. */
export interface SenderSide {
  readonly enc: Uint8Array;
  readonly sealer: ChunkSealer;
  /** The answer's opener, given the answer's nonce. */
  answerOpener(responseNonce: Uint8Array): Promise<ChunkOpener>;
}

/** Sets up HPKE to `publicKey` (32 bytes) with this request's `info`. */
export async function senderSide(publicKey: Uint8Array, info: Uint8Array): Promise<SenderSide> {
  if (publicKey.length !== HPKE_KEY_BYTES) throw new SealedBodyError('MALFORMED', `An HPKE public key is ${HPKE_KEY_BYTES} bytes, not ${publicKey.length}.`);
  const context = await hpke().createSenderContext({ recipientPublicKey: await hpke().kem.deserializePublicKey(publicKey), info });
  const enc = new Uint8Array(context.enc);
  return {
    enc,
    sealer: chunkCipher(await exported(context, REQUEST_EXPORT_LABEL), enc, 'body'),
    answerOpener: async (nonce) => chunkCipher(await exported(context, RESPONSE_EXPORT_LABEL), Buffer.concat([enc, nonce]), 'answer'),
  };
}

/** One sealed request's context in the enclave: chunks to open, the answer to seal. */
export interface RecipientSide {
  readonly opener: ChunkOpener;
  answerSealer(responseNonce: Uint8Array): Promise<ChunkSealer>;
}

/** Opens HPKE with the enclave's private key; a bad `enc` is NOT_AUTHENTIC (it cannot be told from a forged one). */
export async function recipientSide(privateKey: webcrypto.CryptoKey, enc: Uint8Array, info: Uint8Array): Promise<RecipientSide> {
  let context;
  try {
    context = await hpke().createRecipientContext({ recipientKey: privateKey, enc, info });
  } catch {
    throw new SealedBodyError('NOT_AUTHENTIC', 'The encapsulated key does not decapsulate.');
  }
  return {
    opener: chunkCipher(await exported(context, REQUEST_EXPORT_LABEL), enc, 'body'),
    answerSealer: async (nonce) => chunkCipher(await exported(context, RESPONSE_EXPORT_LABEL), Buffer.concat([enc, nonce]), 'answer'),
  };
}

/** A secret of the HPKE context, for `label` (RFC 9180 §5.3): bound to the shared secret and the request's `info`. */
async function exported(context: { export(label: Uint8Array, length: number): Promise<ArrayBuffer> }, label: string): Promise<Uint8Array> {
  return new Uint8Array(await context.export(new TextEncoder().encode(label), 32));
}

/**
 * A body's AES-256-GCM under a secret HPKE exported, as OHTTP (RFC 9458 §4.4) and EHBP derive the answer's: key =
 * HKDF(secret, salt, "key"), base nonce = HKDF(secret, salt, "nonce"); chunk i uses base nonce ⊕ i, as HPKE does. The
 * request's salt is enc, the answer's enc ‖ response nonce. node:crypto's AES-GCM, not HPKE's per-call WebCrypto: one
 * cipher per 64 KiB chunk without the copies and garbage of a WebCrypto job each (a 1 GiB upload is 16,384 chunks).
 */
function chunkCipher(secret: Uint8Array, salt: Uint8Array, what: 'body' | 'answer'): ChunkSealer & ChunkOpener {
  const key = Buffer.from(hkdfSync('sha256', secret, salt, 'key', 32));
  const base = Buffer.from(hkdfSync('sha256', secret, salt, 'nonce', 12));
  let sealed = 0;
  let opened = 0;
  const nonceOf = (seq: number) => {
    const nonce = Buffer.from(base);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    return nonce;
  };
  return {
    async seal(pt, aad) {
      const cipher = createCipheriv('aes-256-gcm', key, nonceOf(sealed++)).setAAD(aad);
      return Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()]);
    },
    async open(ct, aad) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(opened++)).setAAD(aad);
      decipher.setAuthTag(ct.subarray(ct.length - SEALED_TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(ct.subarray(0, ct.length - SEALED_TAG_BYTES)), decipher.final()]);
      } catch {
        throw new SealedBodyError('NOT_AUTHENTIC', `A chunk of the sealed ${what} does not authenticate.`);
      }
    },
  };
}

/** One chunk on the wire: its prefix (length, final bit) and ciphertext. */
function frame(ciphertext: Uint8Array, final: boolean): Buffer {
  const prefix = Buffer.alloc(SEALED_PREFIX_BYTES);
  prefix.writeUInt32BE((ciphertext.length | (final ? FINAL_BIT : 0)) >>> 0);
  return Buffer.concat([prefix, ciphertext]);
}

/**
 * Bytes that arrive in pieces (TLS records, file reads), taken from the front in chunk sizes: a piece is copied at most
 * once, when a chunk spans pieces, not again on every arrival while a chunk fills.
 */
class ByteQueue {
  readonly #pieces: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    this.#length += piece.length;
  }

  /** The first four bytes as a big-endian uint32 (at least four are queued). */
  peekUInt32BE(): number {
    const first = this.#pieces[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.#pieces.slice(0, 4), 4).readUInt32BE(0);
  }

  /** Removes and returns the first `n` bytes (n ≤ length): a view when one piece holds them, else one copy. */
  take(n: number): Buffer {
    const first = this.#pieces[0];
    if (first === undefined || n === 0) return Buffer.alloc(0);
    this.#length -= n;
    if (first.length >= n) {
      if (first.length === n) this.#pieces.shift();
      else this.#pieces[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.#pieces[0]!;
      const used = Math.min(piece.length, n - filled);
      piece.copy(out, filled, 0, used);
      filled += used;
      if (used === piece.length) this.#pieces.shift();
      else this.#pieces[0] = piece.subarray(used);
    }
    return out;
  }
}

/**
 * Seals `source` in chunks of exactly `SEALED_CHUNK_BYTES` (the last one shorter, or empty for an empty body) and
 * yields them framed, the last one marked final. Holds at most two chunks of plaintext.
 */
export async function* sealChunks(sealer: ChunkSealer, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const pending = new ByteQueue();
  for await (const piece of source) {
    pending.push(piece);
    // Keep at least one byte back: the chunk that turns out to be the last must go out marked final.
    while (pending.length > SEALED_CHUNK_BYTES) yield frame(await sealer.seal(pending.take(SEALED_CHUNK_BYTES), MORE_AAD), false);
  }
  yield frame(await sealer.seal(pending.take(pending.length), FINAL_AAD), true);
}

/** Seals a whole (small) body: the answer. */
export async function sealWhole(sealer: ChunkSealer, body: Uint8Array): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of sealChunks(sealer, [body])) parts.push(part);
  return Buffer.concat(parts);
}

/**
 * A stream that takes a sealed body and gives its plaintext, each chunk only once it authenticated. It fails with
 * `SealedBodyError`: NOT_AUTHENTIC, MALFORMED, TRUNCATED (ended before the final chunk), TOO_LARGE (over
 * `maxSealedBytes`). `onFirstChunk` runs once the first chunk authenticated (the enclave's replay check); it may throw.
 */
export function openingStream(opener: ChunkOpener, maxSealedBytes: number, onFirstChunk: () => void = () => undefined): Transform {
  const pending = new ByteQueue();
  let total = 0;
  let chunks = 0;
  let final = false;
  return new Transform({
    transform(piece: Buffer, _encoding, callback) {
      total += piece.length;
      if (total > maxSealedBytes) return callback(new SealedBodyError('TOO_LARGE', `The sealed body is larger than ${maxSealedBytes} bytes.`));
      pending.push(piece);
      drain(this).then(() => callback(), callback);
    },
    flush(callback) {
      if (!final) return callback(new SealedBodyError('TRUNCATED', 'The sealed body ended before its final chunk.'));
      callback();
    },
  });

  async function drain(out: Transform): Promise<void> {
    while (pending.length >= SEALED_PREFIX_BYTES) {
      if (final) throw new SealedBodyError('MALFORMED', 'The sealed body goes on after its final chunk.');
      const prefix = pending.peekUInt32BE();
      const last = (prefix & FINAL_BIT) !== 0;
      const length = prefix & ~FINAL_BIT;
      if (length < SEALED_TAG_BYTES || length > MAX_CIPHERTEXT || (!last && length !== MAX_CIPHERTEXT)) {
        throw new SealedBodyError('MALFORMED', `A chunk of the sealed body has a length of ${length} bytes (a chunk before the final one holds ${MAX_CIPHERTEXT}).`);
      }
      if (pending.length < SEALED_PREFIX_BYTES + length) return;
      pending.take(SEALED_PREFIX_BYTES);
      const ciphertext = pending.take(length);
      const plaintext = await opener.open(ciphertext, last ? FINAL_AAD : MORE_AAD);
      if (chunks++ === 0) onFirstChunk();
      final = last;
      if (plaintext.length > 0) out.push(plaintext);
    }
  }
}

/** Opens a whole (small) sealed body: the answer. */
export async function openWhole(opener: ChunkOpener, sealed: Uint8Array): Promise<Buffer> {
  const stream = openingStream(opener, sealed.length);
  const parts: Buffer[] = [];
  stream.on('data', (part: Buffer) => parts.push(part));
  const done = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  stream.end(sealed);
  await done;
  return Buffer.concat(parts);
}
