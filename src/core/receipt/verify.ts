/**
 * Verifying one transcript receipt document: bytes in, the verified attestation and what it binds out, or an error
 * naming the first check that failed. The document is authentic (chain at `now`, signature, PCRs: the attestation
 * verifier's codes), it is a receipt at all (user_data: a plain attestation document is not, whatever its nonce), it is
 * for this request (nonce) and this connection (key), and it binds these exact bytes (format, audio, transcript).
 */
import { decodeStrict } from '../attestation/cbor.js';
import type { PcrPolicy } from '../attestation/policy.js';
import type { TrustedRoot } from '../attestation/roots.js';
import { verifyAttestation, type VerifiedAttestation } from '../attestation/verify.js';
import { AttestationError, ReceiptError, type CheckedHash, type ReceiptHashes } from '../errors.js';
import { toHex } from '../util/hex.js';
import { quoteServerText } from '../../shared/text.js';
import { sha256Hex } from '../util/sha256.js';
import { receiptFromMap, type ReceiptContent } from '../../protocol/receipt.js';
import { MAX_OPTIONAL_FIELD_BYTES } from '../attestation/payload.js';
import type { TranscriptFormat } from '../../protocol/transcript.js';

/** What a receipt must satisfy; the hashes are lower-case hex SHA-256. */
export interface ReceiptExpectations {
  /** The verification time: now for a live answer, the document's own time offline. */
  readonly now: Date;
  readonly roots: readonly TrustedRoot[];
  readonly expectedPcrs?: PcrPolicy;
  /** The request's nonce; when given, the document must carry exactly it. */
  readonly nonce?: Uint8Array;
  /** SHA-256 of the SubjectPublicKeyInfo the document must bind. */
  readonly publicKeySha256?: string;
  /** The module the document must come from (the enclave that answered). */
  readonly moduleId?: string;
  readonly format?: TranscriptFormat;
  readonly audioSha256: string;
  readonly transcriptSha256: string;
  readonly maxAgeMs?: number;
}

/** A receipt that passed every check: the verified document and what its `user_data` binds (hashes as hex). */
export interface VerifiedReceipt {
  readonly attestation: VerifiedAttestation;
  readonly content: Omit<ReceiptContent, 'audioSha256' | 'transcriptSha256'> & { readonly audioSha256: string; readonly transcriptSha256: string };
}

/** Verifies a receipt document against `expect`. Throws `AttestationError` or `ReceiptError` (`InputError` for bad options). */
export function verifyReceiptDocument(document: Uint8Array, expect: ReceiptExpectations): VerifiedReceipt {
  const attestation = verifyAttestation(document, { now: expect.now, roots: expect.roots, expectedPcrs: expect.expectedPcrs, maxAgeMs: expect.maxAgeMs });
  const content = decodeReceiptContent(attestation.bytes.userData);
  if (expect.nonce && (attestation.nonce === null || attestation.nonce !== toHex(expect.nonce))) {
    throw new ReceiptError('RECEIPT_REPLAYED', 'The receipt carries another nonce than the one this request sent: it was issued for another request, and is replayed.');
  }
  const key = attestation.bytes.publicKey;
  if (expect.publicKeySha256 !== undefined && (key === null || sha256Hex(key) !== expect.publicKeySha256)) {
    throw new ReceiptError('RECEIPT_KEY_MISMATCH', `The receipt is signed for the TLS key ${key ? sha256Hex(key).slice(0, 16) + '…' : '(none)'}, not for the key ${expect.publicKeySha256.slice(0, 16)}… the transcript came under.`);
  }
  if (expect.moduleId !== undefined && attestation.moduleId !== expect.moduleId) {
    throw new ReceiptError('RECEIPT_MISMATCH', `The receipt comes from the enclave ${quoteServerText(attestation.moduleId, 120)}, not from ${quoteServerText(expect.moduleId, 120)}, which answered.`);
  }
  if (expect.format !== undefined && content.format !== expect.format) {
    throw new ReceiptError('RECEIPT_MISMATCH', `The receipt is for a ${content.format} transcript, not for the ${expect.format} one received.`);
  }
  const audioSha256 = toHex(content.audioSha256);
  const transcriptSha256 = toHex(content.transcriptSha256);
  const audioMatches = audioSha256 === expect.audioSha256;
  const transcriptMatches = transcriptSha256 === expect.transcriptSha256;
  if (!audioMatches || !transcriptMatches) {
    const hashes = { audio: { checked: expect.audioSha256, signed: audioSha256 }, transcript: { checked: expect.transcriptSha256, signed: transcriptSha256 } };
    throw new ReceiptError(audioMatches ? 'TRANSCRIPT_MISMATCH' : 'AUDIO_MISMATCH', mismatchSentence(audioMatches, transcriptMatches), { hashes });
  }
  return Object.freeze({ attestation, content: Object.freeze({ ...content, audioSha256, transcriptSha256 }) });
}

/** The details of a refused receipt's hashes, one line a file: what was checked, and what was signed when it differs. */
export function receiptHashLines(hashes: ReceiptHashes): string[] {
  const line = (what: string, h: CheckedHash) => (h.checked === h.signed ? `${what} SHA-256 ${h.checked} (as signed)` : `${what} SHA-256 ${h.checked}, signed ${h.signed}`);
  return [line('audio', hashes.audio), line('transcript', hashes.transcript)];
}

/** Which of the two files differs from what the enclave signed, in words (the hashes travel apart, as details). */
function mismatchSentence(audioMatches: boolean, transcriptMatches: boolean): string {
  if (audioMatches) return 'The transcript changed after the enclave signed it; the audio matches.';
  if (transcriptMatches) return 'The audio is not the recording the enclave signed for; the transcript matches.';
  return 'Neither the audio nor the transcript is what the enclave signed for: the receipt belongs to other files.';
}

/**
 * The receipt map in `user_data`, decoded with the verifier's strict CBOR rules. Throws `NOT_A_RECEIPT` for a plain
 * attestation document (no user_data, or a map without a `receipt` field), `RECEIPT_MALFORMED` for a broken receipt.
 */
export function decodeReceiptContent(userData: Uint8Array | null): ReceiptContent {
  if (!userData || userData.length === 0) throw new ReceiptError('NOT_A_RECEIPT', 'The document has no user_data: it is a plain attestation document, not a transcript receipt, and binds no transcript.');
  let map: unknown;
  try {
    map = decodeStrict(userData, { maxBytes: MAX_OPTIONAL_FIELD_BYTES, maxDepth: 1 }, 'receipt');
  } catch (err) {
    if (!(err instanceof AttestationError)) throw err;
    throw new ReceiptError('RECEIPT_MALFORMED', `The receipt's user_data is not well-formed CBOR: ${err.message}`, { cause: err });
  }
  if (!(map instanceof Map)) throw new ReceiptError('RECEIPT_MALFORMED', "The receipt's user_data is not a CBOR map.");
  if (!map.has('receipt')) throw new ReceiptError('NOT_A_RECEIPT', 'The document\'s user_data has no "receipt" field: it is a plain attestation document (e.g. a server\'s /attestation answer), not a transcript receipt, and binds no transcript.');
  const content = receiptFromMap(map);
  if ('invalid' in content) throw new ReceiptError('RECEIPT_MALFORMED', `The document's user_data is not a transcript receipt: ${content.invalid}.`);
  return content;
}

/** The receipt document a header value carries (standard base64, nothing else). Throws `RECEIPT_MALFORMED`. */
export function documentFromBase64(value: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) throw new ReceiptError('RECEIPT_MALFORMED', `The ${what} is not base64.`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}
