/**
 * An upload sealed to the enclave (protocol/sealed-body.ts): the multipart body sealed in chunks to the HPKE key that
 * the verified attestation of the channel carrying it returned (never any other), and the answer opened under that
 * request's context. Used when TLS is inspected (the channel is unbound), or when the caller asks for it.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ChannelError } from '../errors.js';
import { KEY_HEX, SEALED_CONTENT_TYPE, SEALED_HEADERS, sealedLength, sealedRequestInfo } from '../../protocol/sealed-body.js';
import { openWhole, sealChunks, senderSide, type SenderSide } from '../../shared/sealed-body.js';
import { toHex } from '../util/hex.js';
import type { AttestedEnclave } from './attested-enclave.js';

/** What one sealed attempt needs from the request. */
export interface SealedUploadRequest {
  readonly path: string;
  /** The plaintext's headers (form-data-encoder's `Content-Type` and `Content-Length`). */
  readonly contentType: string;
  readonly contentLength: number;
  readonly receiptNonce: Uint8Array;
  /** The session's clock: with the document's timestamp, it reckons the enclave's time. */
  readonly now: Date;
}

/** A sealed attempt: its headers and body, and its context to open the answer with. */
export interface SealedAttempt {
  readonly headers: Record<string, string>;
  readonly body: Readable;
  readonly side: SenderSide;
}

/** The HPKE key `enclave`'s verified document attests, or undefined. */
export function attestedHpkeKey(enclave: AttestedEnclave): Uint8Array | undefined {
  return enclave.service?.hpkePublicKey;
}

/** Seals `plaintext` (the multipart stream) to `enclave`'s attested HPKE key, for the request `request`. */
export async function sealUpload(enclave: AttestedEnclave, request: SealedUploadRequest, plaintext: AsyncIterable<Uint8Array>): Promise<SealedAttempt> {
  const key = attestedHpkeKey(enclave);
  if (!key) throw new ChannelError('TLS_BINDING_MISMATCH', 'The enclave attests no HPKE key, so the body cannot be sealed to it.');
  // The enclave's time, as its document says it: the document's timestamp plus what passed since it was verified
  // (a client clock that is wrong does not matter, only its rate).
  const requestTime = enclave.attestation.timestamp + (request.now.getTime() - enclave.attestation.verifiedAt);
  const info = sealedRequestInfo({ method: 'POST', path: request.path, contentType: request.contentType, receiptNonce: toHex(request.receiptNonce), requestTime, hpkeKey: toHex(key) });
  const side = await senderSide(key, info);
  return {
    headers: {
      'content-type': SEALED_CONTENT_TYPE,
      'content-length': String(sealedLength(request.contentLength)),
      [SEALED_HEADERS.encapsulatedKey]: toHex(side.enc),
      [SEALED_HEADERS.hpkeKey]: toHex(key),
      [SEALED_HEADERS.requestTime]: String(requestTime),
      [SEALED_HEADERS.contentType]: request.contentType,
    },
    body: Readable.from(sealChunks(side.sealer, plaintext)),
    side,
  };
}

/**
 * The plaintext of a 2xx answer to a sealed request, or `SEALED_RESPONSE_INVALID`: not sealed (a middlebox's own
 * answer, or the enclave's stripped of its seal), changed, cut, or sealed under another request's context.
 */
export async function openAnswer(side: SenderSide, response: Dispatcher.ResponseData, sealed: Uint8Array, host: string): Promise<Buffer> {
  const nonce = response.headers[SEALED_HEADERS.responseNonce];
  const type = String(response.headers['content-type'] ?? '');
  if (typeof nonce !== 'string' || !KEY_HEX.test(nonce) || type.split(';')[0]!.trim().toLowerCase() !== SEALED_CONTENT_TYPE) {
    throw new ChannelError('SEALED_RESPONSE_INVALID', `${host} answered the sealed request with a body that is not sealed (${JSON.stringify(type || 'no content type')}): it is not shown.`);
  }
  try {
    return await openWhole(await side.answerOpener(Buffer.from(nonce, 'hex')), sealed);
  } catch {
    throw new ChannelError('SEALED_RESPONSE_INVALID', `The answer of ${host} does not open under this request's context (changed, cut, or another request's answer): it is not shown.`);
  }
}
