/**
 * Issuing transcript receipts (protocol/receipt.ts): after the engine has answered and the body is final, one fresh
 * attestation document binds the hash of the audio as received to the hash of the exact bytes about to be sent, for
 * the key of the TLS connection the answer goes out on. The answer is never sent without it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { cborEncoder } from '../../shared/cbor.js';
import { CLIENT_NONCE_BYTES, NONCE_HEX } from '../../protocol/limits.js';
import { MAX_RECEIPT_HEADER_BYTES, RECEIPT_NONCE_HEADER, RECEIPT_VERSION, receiptToMap } from '../../protocol/receipt.js';
import type { TranscriptFormat } from '../../protocol/transcript.js';
import type { AttestationProvider } from '../attestation/provider.js';
import { HttpError } from './respond.js';

/** What one answer is a receipt for. */
export interface ReceiptFacts {
  readonly audioSha256: Uint8Array;
  readonly audioBytes: number;
  /** The response body exactly as it will be sent. */
  readonly body: Uint8Array;
  readonly format: TranscriptFormat;
  readonly endpoint: string;
  readonly requestTime: number;
  readonly nonce: Uint8Array;
}

/** Signs receipts for the answers of one server; `issue` returns the header value (base64 document). */
export interface ReceiptIssuer {
  issue(socket: IncomingMessage['socket'], facts: ReceiptFacts): Promise<string>;
}

/**
 * The request's receipt nonce: the client's header (checked before the upload is read, 400 `INVALID_RECEIPT_NONCE`),
 * or fresh random bytes for a plain client that sent none, so that every document is unique.
 */
export function receiptNonce(req: IncomingMessage): Uint8Array {
  const value = req.headers[RECEIPT_NONCE_HEADER];
  if (value === undefined) return randomBytes(CLIENT_NONCE_BYTES);
  if (typeof value !== 'string' || !NONCE_HEX.test(value)) {
    throw HttpError.of('INVALID_RECEIPT_NONCE');
  }
  return Buffer.from(value, 'hex');
}

/** The issuer over `provider`, stating `engine` and `model` as the service description attests them. */
export function receiptIssuer(provider: AttestationProvider, service: { readonly engine: string; readonly model: string }): ReceiptIssuer {
  /** Each connection's certificate key, read once: the key this answer actually goes out under. */
  const keys = new WeakMap<object, Uint8Array>();
  const keyOf = (socket: TLSSocket): Uint8Array => {
    let key = keys.get(socket);
    if (!key) {
      const cert = socket.getX509Certificate();
      if (!cert) throw new Error('the connection has no local TLS certificate');
      key = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
      keys.set(socket, key);
    }
    return key;
  };
  return {
    async issue(socket, facts) {
      const userData = cborEncoder.encode(
        receiptToMap({
          version: RECEIPT_VERSION,
          audioSha256: facts.audioSha256,
          audioBytes: facts.audioBytes,
          transcriptSha256: createHash('sha256').update(facts.body).digest(),
          format: facts.format,
          endpoint: facts.endpoint,
          engine: service.engine,
          model: service.model,
          requestTime: facts.requestTime,
        }),
      );
      const document = await provider.attest({ nonce: facts.nonce, publicKey: keyOf(socket as TLSSocket), userData });
      const header = Buffer.from(document).toString('base64');
      // A client could not read it (and must not get an answer without one): a server fault, never sent half.
      if (header.length > MAX_RECEIPT_HEADER_BYTES) throw new Error(`the receipt is ${header.length} bytes in base64, more than ${MAX_RECEIPT_HEADER_BYTES}`);
      return header;
    },
  };
}
