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

/** Seals a body's chunks in order. */
interface ChunkSealer {
  /** The next chunk framed for the wire (prefix, ciphertext, tag) from its plaintext in one or more pieces. */
  sealFramed(plaintext: readonly Uint8Array[], final: boolean): Buffer;
}

/** Opens a body's chunks in order. */
interface ChunkOpener {
  /** The next chunk's plaintext from its ciphertext and its tag, each in one or more pieces; throws NOT_AUTHENTIC. */
  open(ciphertext: readonly Uint8Array[], tag: readonly Uint8Array[], final: boolean): Buffer;
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
 * request's salt is enc, the answer's enc ‖ response nonce. node:crypto's AES-GCM, not HPKE's per-call WebCrypto: a
 * 1 GiB upload is 16,384 chunks, and each chunk here costs one buffer of its size on either side (the pieces it
 * arrived in are ciphered where they lie), which keeps the garbage collector out of the transfer.
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
    sealFramed(plaintext, final) {
      const cipher = createCipheriv('aes-256-gcm', key, nonceOf(sealed++)).setAAD(final ? FINAL_AAD : MORE_AAD);
      const length = plaintext.reduce((sum, piece) => sum + piece.length, 0) + SEALED_TAG_BYTES;
      const framed = Buffer.allocUnsafe(SEALED_PREFIX_BYTES + length);
      framed.writeUInt32BE((length | (final ? FINAL_BIT : 0)) >>> 0, 0);
      let at = SEALED_PREFIX_BYTES;
      for (const piece of plaintext) at += cipher.update(piece).copy(framed, at);
      at += cipher.final().copy(framed, at);
      cipher.getAuthTag().copy(framed, at);
      return framed;
    },
    open(ciphertext, tag, final) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(opened++)).setAAD(final ? FINAL_AAD : MORE_AAD);
      decipher.setAuthTag(Buffer.concat(tag));
      const plaintext = Buffer.allocUnsafe(ciphertext.reduce((sum, piece) => sum + piece.length, 0));
      let at = 0;
      for (const piece of ciphertext) at += decipher.update(piece).copy(plaintext, at);
      try {
        decipher.final().copy(plaintext, at);
      } catch {
        throw new SealedBodyError('NOT_AUTHENTIC', `A chunk of the sealed ${what} does not authenticate.`);
      }
      return plaintext;
    },
  };
}

/**
 * Bytes that arrive in pieces (TLS records, file reads), taken from the front in chunk sizes as views of the pieces
 * that hold them: nothing is copied, and pieces are removed a chunk at a time (one splice, whatever their number).
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

  /** Removes and returns the first `n` bytes (n ≤ length). */
  take(n: number): Buffer[] {
    this.#length -= n;
    let whole = 0;
    let rest = n;
    while (rest > 0 && this.#pieces[whole]!.length <= rest) rest -= this.#pieces[whole++]!.length;
    const out = this.#pieces.splice(0, whole);
    if (rest > 0) {
      const piece = this.#pieces[0]!;
      out.push(piece.subarray(0, rest));
      this.#pieces[0] = piece.subarray(rest);
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
    while (pending.length > SEALED_CHUNK_BYTES) yield sealer.sealFramed(pending.take(SEALED_CHUNK_BYTES), false);
  }
  yield sealer.sealFramed(pending.take(pending.length), true);
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
      try {
        drain(this);
      } catch (err) {
        return callback(err as Error);
      }
      callback();
    },
    flush(callback) {
      if (!final) return callback(new SealedBodyError('TRUNCATED', 'The sealed body ended before its final chunk.'));
      callback();
    },
  });

  function drain(out: Transform): void {
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
      const ciphertext = pending.take(length - SEALED_TAG_BYTES);
      const plaintext = opener.open(ciphertext, pending.take(SEALED_TAG_BYTES), last);
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
