/**
 * The receipt file: a self-contained JSON artefact anyone can check later without BlindBox's help. The raw document
 * (base64) is the proof; everything else is a copy of what it binds and of how the client checked it, for people and
 * tools to read, and is checked against the document when the file is verified (see offline.ts).
 */
import { InputError, ReceiptError } from '../errors.js';
import { normalisePcrPolicy } from '../attestation/policy.js';
import { errorClause } from '../../shared/text.js';
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from '../../protocol/transcript.js';
import { MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';
import { documentFromBase64, type VerifiedReceipt } from './verify.js';
import { writeFileAtomic } from '../util/output-files.js';
import { withoutBom } from '../../shared/text.js';

export const RECEIPT_FILE_FORMAT = 'blindbox-transcript-receipt/1';

/** Largest receipt file read: the document (64 KiB at most, in base64) and a little JSON around it. */
export const MAX_RECEIPT_FILE_BYTES = 128 * 1024;

/** The JSON of a receipt file. Hashes are lower-case hex SHA-256. */
export interface ReceiptFile {
  readonly format: typeof RECEIPT_FILE_FORMAT;
  /** The attestation document as received, standard base64: the proof. */
  readonly document: string;
  /** The server's origin the transcript came from. */
  readonly server: string | null;
  readonly audio: { readonly name: string; readonly sha256: string; readonly bytes: number };
  readonly transcript: { readonly format: TranscriptFormat; readonly sha256: string };
  /** The nonce the client sent with the request (hex), which the document carries. */
  readonly requestNonce: string | null;
  /** SHA-256 of the TLS key of the connection the transcript came on (the document's `public_key`). */
  readonly connectionKeySha256: string | null;
  /** When the client verified the receipt (ISO-8601). */
  readonly verifiedAt: string;
  /** The attestation policy the session enforced. */
  readonly policy: { readonly name: string; readonly pcrs: Readonly<Record<string, string>> } | null;
}

/** What the client knew when it verified a live receipt, beyond the receipt itself. */
export interface ReceiptContext {
  readonly document: Uint8Array;
  readonly server: string | null;
  readonly audioName: string;
  readonly requestNonce: string | null;
  readonly connectionKeySha256: string | null;
  readonly policy: { readonly name: string; readonly pcrs: Readonly<Record<string | number, string>> } | null;
}

/** The receipt file of a verified receipt. */
export function buildReceiptFile(verified: VerifiedReceipt, context: ReceiptContext): ReceiptFile {
  const c = verified.content;
  return {
    format: RECEIPT_FILE_FORMAT,
    document: Buffer.from(context.document).toString('base64'),
    server: context.server,
    audio: { name: context.audioName, sha256: c.audioSha256, bytes: c.audioBytes },
    transcript: { format: c.format, sha256: c.transcriptSha256 },
    requestNonce: context.requestNonce,
    connectionKeySha256: context.connectionKeySha256,
    verifiedAt: new Date(verified.attestation.verifiedAt).toISOString(),
    policy: context.policy ? { name: context.policy.name, pcrs: { ...context.policy.pcrs } } : null,
  };
}

/** The file's text: pretty JSON, one trailing newline. */
export function receiptFileText(receipt: ReceiptFile): string {
  return JSON.stringify(receipt, null, 2) + '\n';
}

/** Writes `receipt` to `file`, replacing it (the CLI's `--receipt`) as `writeFileAtomic` does: never through a link. */
export async function writeReceiptFile(file: string, receipt: ReceiptFile): Promise<void> {
  await writeFileAtomic(file, receiptFileText(receipt));
}

/** Reads a receipt file's JSON; every field is checked for its type. Throws `RECEIPT_MALFORMED` naming `source`. */
export function parseReceiptFile(text: string, source: string): ReceiptFile & { readonly documentBytes: Uint8Array } {
  const bad = (detail: string) => new ReceiptError('RECEIPT_MALFORMED', `The receipt file ${source} ${detail}.`);
  let json: unknown;
  try {
    json = JSON.parse(withoutBom(text));
  } catch {
    throw bad('is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('is not a JSON object');
  const r = json as Record<string, unknown>;
  if (r.format !== RECEIPT_FILE_FORMAT) throw bad(`is not a ${RECEIPT_FILE_FORMAT} file`);
  if (typeof r.document !== 'string') throw bad('has no "document"');
  const documentBytes = documentFromBase64(r.document, `document of the receipt file ${source}`);
  if (documentBytes.length > MAX_DOCUMENT_BYTES) throw bad('holds a document larger than 64 KiB');
  const hex64 = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const optionalHex = (v: unknown) => v === null || (typeof v === 'string' && /^[0-9a-f]*$/.test(v));
  const audio = r.audio as Record<string, unknown> | null;
  if (typeof audio !== 'object' || audio === null || typeof audio.name !== 'string' || !hex64(audio.sha256) || !Number.isSafeInteger(audio.bytes)) throw bad('has a malformed "audio"');
  const transcript = r.transcript as Record<string, unknown> | null;
  if (typeof transcript !== 'object' || transcript === null || !(TRANSCRIPT_FORMATS as readonly unknown[]).includes(transcript.format) || !hex64(transcript.sha256)) throw bad('has a malformed "transcript"');
  if (!optionalHex(r.requestNonce) || !(r.connectionKeySha256 === null || hex64(r.connectionKeySha256))) throw bad('has a malformed "requestNonce" or "connectionKeySha256"');
  if (typeof r.verifiedAt !== 'string' || Number.isNaN(Date.parse(r.verifiedAt))) throw bad('has no valid "verifiedAt"');
  if (r.server !== null && typeof r.server !== 'string') throw bad('has a malformed "server"');
  const policy = r.policy as Record<string, unknown> | null;
  if (policy !== null && (typeof policy !== 'object' || typeof policy.name !== 'string' || typeof policy.pcrs !== 'object' || policy.pcrs === null || !Object.values(policy.pcrs).every((v) => typeof v === 'string'))) {
    throw bad('has a malformed "policy"');
  }
  // The recorded PCRs are what a check without --pcr enforces: malformed ones make a malformed receipt, not a bad option.
  if (policy !== null) {
    try {
      normalisePcrPolicy(policy.pcrs as Record<string, string>);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw bad(`has a malformed "policy" (${errorClause(err)})`);
    }
  }
  return { ...(r as unknown as ReceiptFile), documentBytes };
}
