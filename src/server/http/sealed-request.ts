/**
 * Requests whose body is sealed to the enclave's HPKE key (protocol/sealed-body.ts): their headers checked before
 * anything is admitted, their body opened chunk by chunk as it streams to the upload (never whole in memory), and
 * their answer sealed back under the request's context. A plain request (no `blindbox-encapsulated-key`) is not one.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  KEY_HEX,
  REQUEST_TIME_WINDOW_MS,
  RESPONSE_NONCE_BYTES,
  SEALED_CONTENT_TYPE,
  SEALED_HEADERS,
  sealedLength,
  sealedRequestInfo,
} from '../../protocol/sealed-body.js';
import { recipientSide, SealedBodyError, sealWhole, openingStream, type HpkeKeyPair, type RecipientSide } from '../../shared/sealed-body.js';
import { HttpError } from './respond.js';

/** The enclave's HPKE key pair (new at every start) and the encapsulated keys it has taken, against replays. */
export interface SealedBodies {
  readonly keys: HpkeKeyPair;
  readonly replays: ReplayGuard;
}

/** A sealed request's head, checked. */
export interface SealedHead {
  readonly enc: Uint8Array;
  readonly info: Uint8Array;
  /** The plaintext's media type (the multipart the upload parser reads). */
  readonly contentType: string;
}

/**
 * The sealed head of `req`, undefined for a plain request; `HttpError` when it is sealed and its headers are wrong,
 * for another key (`HPKE_KEY_UNKNOWN`), or too far from now (`SEALED_REQUEST_EXPIRED`).
 */
export function sealedHead(req: IncomingMessage, path: string, bodies: SealedBodies | undefined, receiptNonce: string | undefined, now: number): SealedHead | undefined {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const encHex = header(SEALED_HEADERS.encapsulatedKey);
  if (req.headers[SEALED_HEADERS.encapsulatedKey] === undefined) return undefined;
  const keyHex = header(SEALED_HEADERS.hpkeKey);
  const time = header(SEALED_HEADERS.requestTime);
  const contentType = header(SEALED_HEADERS.contentType);
  if (
    encHex === undefined || !KEY_HEX.test(encHex) || keyHex === undefined || !KEY_HEX.test(keyHex) || time === undefined || !/^\d{1,15}$/.test(time) ||
    contentType === undefined || receiptNonce === undefined || (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== SEALED_CONTENT_TYPE
  ) {
    throw HttpError.of('MALFORMED_SEALED_REQUEST');
  }
  if (!bodies || keyHex !== toHex(bodies.keys.publicKey)) {
    // Refused before a byte of the body is read; the key this enclave holds now is named (as on its attestation
    // answers), so that a client knows its channel's key is gone and attests again.
    throw HttpError.of('HPKE_KEY_UNKNOWN', undefined, { headers: bodies ? { [SEALED_HEADERS.hpkeKey]: toHex(bodies.keys.publicKey) } : {} });
  }
  const requestTime = Number(time);
  if (Math.abs(requestTime - now) > REQUEST_TIME_WINDOW_MS) {
    throw HttpError.of('SEALED_REQUEST_EXPIRED', `The sealed request is dated ${Math.round((requestTime - now) / 1000)} s from the enclave's clock (at most ${REQUEST_TIME_WINDOW_MS / 1000} s either way).`);
  }
  const info = sealedRequestInfo({ method: req.method ?? '', path, contentType, receiptNonce, requestTime, hpkeKey: keyHex });
  return { enc: Buffer.from(encHex, 'hex'), info, contentType };
}

/** An opened request: its plaintext stream and the context its answer is sealed under. */
export interface OpenedRequest {
  readonly body: Duplex;
  readonly side: RecipientSide;
}

/**
 * Opens the sealed body of `req` as a plaintext stream. Its errors, as `sealedFailure` answers them: `SEALED_BODY_INVALID`,
 * `SEALED_BODY_TRUNCATED`, `SEALED_BODY_MALFORMED`, `FILE_TOO_LARGE` (over the sealed length of `maxPlaintext`),
 * `SEALED_REQUEST_REPLAYED` (the first chunk authenticated, and its `enc` was taken before).
 */
export async function openSealedRequest(req: IncomingMessage, head: SealedHead, bodies: SealedBodies, maxPlaintext: number): Promise<OpenedRequest> {
  let side: RecipientSide;
  try {
    side = await recipientSide(bodies.keys.privateKey, head.enc, head.info);
  } catch (err) {
    throw sealedFailure(err);
  }
  const opening = openingStream(side.opener, sealedLength(maxPlaintext), () => bodies.replays.take(head.enc, Date.now()));
  return { body: req.pipe(opening), side };
}

/** The answer to a sealed request: `body` sealed under its context, with the headers that say how to open it. */
export async function sealAnswer(side: RecipientSide, body: Uint8Array, contentType: string): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const nonce = randomBytes(RESPONSE_NONCE_BYTES);
  const sealed = await sealWhole(await side.answerSealer(nonce), body);
  return { headers: { 'content-type': SEALED_CONTENT_TYPE, [SEALED_HEADERS.contentType]: contentType, [SEALED_HEADERS.responseNonce]: toHex(nonce) }, body: sealed };
}

/** A failure of the sealed body as the server's answer. */
export function sealedFailure(err: unknown): unknown {
  if (!(err instanceof SealedBodyError)) return err;
  switch (err.failure) {
    case 'NOT_AUTHENTIC':
      return HttpError.of('SEALED_BODY_INVALID');
    case 'TRUNCATED':
      return HttpError.of('SEALED_BODY_TRUNCATED');
    case 'MALFORMED':
      return HttpError.of('SEALED_BODY_MALFORMED', err.message);
    case 'TOO_LARGE':
      return HttpError.of('FILE_TOO_LARGE', err.message);
  }
}

/**
 * The encapsulated keys taken in the last two request-time windows: a sealed request sent again (on this
 * connection or another) is refused. Entries older than that are dropped: their request time would be refused anyway.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = 1 << 16) {
    this.#max = max;
  }

  /** Records `enc`; throws `SEALED_REQUEST_REPLAYED` when it was taken before, `SERVER_BUSY` when the guard is full. */
  take(enc: Uint8Array, now: number): void {
    for (const [key, expires] of this.#seen) {
      if (expires > now) break;
      this.#seen.delete(key);
    }
    const key = toHex(enc);
    if (this.#seen.has(key)) throw HttpError.of('SEALED_REQUEST_REPLAYED');
    // Full of live entries: forgetting one would let its replay in.
    if (this.#seen.size >= this.#max) throw HttpError.of('SERVER_BUSY', undefined, { retryAfterSeconds: 5 });
    this.#seen.set(key, now + 2 * REQUEST_TIME_WINDOW_MS);
  }
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
