/**
 * Checking a receipt file later, anywhere: the document is verified at its own time (a leaf certificate lives three
 * hours; the proof must outlive it), against roots and PCRs the checker chooses, and must bind the audio and the
 * transcript files at hand. What the file says beside the document is held to the document, never trusted instead.
 */
import type { PcrPolicy } from '../attestation/policy.js';
import type { TrustedRoot } from '../attestation/roots.js';
import { parseCoseSign1 } from '../attestation/cose.js';
import { parsePayload } from '../attestation/payload.js';
import { ReceiptError } from '../errors.js';
import type { ReceiptFile } from './file.js';
import { verifyReceiptDocument, type VerifiedReceipt } from './verify.js';

export interface OfflineCheck {
  readonly roots: readonly TrustedRoot[];
  /** PCRs the enclave must have had; absent: the ones the file's recorded policy names (never "any" silently). */
  readonly expectedPcrs?: PcrPolicy;
  /** SHA-256 (hex) of the audio and transcript files being checked. */
  readonly audioSha256: string;
  readonly transcriptSha256: string;
}

/** The outcome of a verified receipt file: the receipt, and the PCR expectations that were enforced. */
export interface VerifiedReceiptFile extends VerifiedReceipt {
  readonly enforcedPcrs: PcrPolicy;
}

/** Verifies `receipt` (as parsed by `parseReceiptFile`). Throws `AttestationError` or `ReceiptError`. */
export function verifyReceiptFile(receipt: ReceiptFile & { readonly documentBytes: Uint8Array }, check: OfflineCheck): VerifiedReceiptFile {
  const enforcedPcrs = check.expectedPcrs ?? receipt.policy?.pcrs ?? {};
  const verified = verifyReceiptDocument(receipt.documentBytes, {
    now: new Date(documentTime(receipt.documentBytes)),
    roots: check.roots,
    expectedPcrs: enforcedPcrs,
    nonce: receipt.requestNonce ? Buffer.from(receipt.requestNonce, 'hex') : undefined,
    publicKeySha256: receipt.connectionKeySha256 ?? undefined,
    format: receipt.transcript.format,
    audioSha256: check.audioSha256,
    transcriptSha256: check.transcriptSha256,
  });
  // The readable copies must say what the signed document says, or a reader of the JSON would be misled.
  if (receipt.audio.sha256 !== verified.content.audioSha256 || receipt.transcript.sha256 !== verified.content.transcriptSha256 || receipt.audio.bytes !== verified.content.audioBytes) {
    throw new ReceiptError('RECEIPT_MALFORMED', 'The receipt file states other hashes than its signed document binds: the file was edited.');
  }
  return Object.freeze({ ...verified, enforcedPcrs });
}

/** The document's own timestamp, read before it is verified (the verification then proves it). */
function documentTime(document: Uint8Array): number {
  return parsePayload(parseCoseSign1(document).payload).timestamp;
}


/** The one sentence of what a verified receipt proves (the CLI prints it, the extension notifies it). */
export function receiptStatement(v: VerifiedReceipt): string {
  const pcr0 = v.attestation.pcrs[0] ?? '(absent)';
  return `this transcript was produced by an enclave with PCR0 ${pcr0} for audio with SHA-256 ${v.content.audioSha256} at ${new Date(v.attestation.timestamp).toISOString()}`;
}
