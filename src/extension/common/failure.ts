/**
 * Every failure the user sees, reduced to a stable code and one sentence.
 * The core's errors keep their codes; the extension adds its own few
 * (errors.ts). Messages may quote text from a server or a certificate, so they
 * are made one printable line here; plain-text.ts and markdown.ts defuse them
 * for the places that render links or markup.
 */
import { BlindBoxError, InputError, isUntrustedFailure, serverSaid, type AttestationErrorCode, type ChannelErrorCode, type InputErrorCode, type ReceiptErrorCode } from '../../core/errors.js';
import { oneLine } from '../../shared/text.js';
import { EXTENSION_ERROR_CODES, type ExtensionErrorCode } from './errors.js';

/** What went wrong, for the status bar, notifications, the webview and the evidence file. */
export interface Failure {
  readonly code: string;
  /** One sentence, printable, one line. */
  readonly message: string;
  /** True when the server failed to prove it is the expected enclave (as opposed to a network or local problem). */
  readonly untrusted: boolean;
  /**
   * The server's own words with a refusal (`CODE: message`), printable, one line. Unauthenticated when it came from
   * /attestation: every view shows it only quoted and attributed to the server, apart from `message`.
   */
  readonly serverSaid?: string;
}

/** Reduces anything thrown to a `Failure`: each error's own code decides (input errors map to the extension's codes). */
export function describeFailure(err: unknown): Failure {
  if (err instanceof InputError) return { code: inputFailureCode(err.code), message: sentence(oneLine(err.message)), untrusted: false };
  if (err instanceof BlindBoxError) {
    const said = serverSaid(err);
    return { code: err.code, message: oneLine(err.message), untrusted: isUntrustedFailure(err), ...(said ? { serverSaid: oneLine(said, 300) } : {}) };
  }
  if (isAbort(err)) return { code: 'CANCELLED', message: 'The operation was cancelled.', untrusted: false };
  const text = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL_ERROR', message: sentence(oneLine(text || EXTENSION_ERROR_CODES.INTERNAL_ERROR)), untrusted: false };
}

/**
 * The extension's input is either its settings (URL, policy, roots, timeout, transcript format) or the audio file the
 * user picked; people act on that distinction (fix a setting, pick another file), so the core's finer code maps to it.
 */
export function inputFailureCode(code: InputErrorCode): ExtensionErrorCode {
  return code === 'INVALID_AUDIO_FILE' || code === 'UNSUPPORTED_AUDIO' ? 'AUDIO_UNREADABLE' : 'SETTINGS_INVALID';
}

function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && (e.name === 'AbortError' || e.code === 'ABORT_ERR');
}

/** Short reasons for the status bar (`FAILED · <reason>`), one for every code a `Failure` can carry (input codes map to the extension's). */
const SHORT_REASONS: Readonly<Record<AttestationErrorCode | ChannelErrorCode | ReceiptErrorCode | ExtensionErrorCode, string>> = {
  MALFORMED_CBOR: 'malformed document',
  MALFORMED_COSE: 'malformed document',
  MALFORMED_PAYLOAD: 'malformed document',
  UNSUPPORTED_ALGORITHM: 'unsupported algorithm',
  CHAIN_UNTRUSTED: 'untrusted root',
  CERT_INVALID: 'invalid certificate',
  CERT_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  SIGNATURE_INVALID: 'bad signature',
  PCR_MISMATCH: 'PCR mismatch',
  NONCE_MISMATCH: 'nonce mismatch',
  STALE_DOCUMENT: 'stale document',
  TLS_BINDING_MISMATCH: 'TLS key not attested',
  SERVER_UNREACHABLE: 'unreachable',
  SERVER_ERROR: 'server error',
  PROTOCOL_ERROR: 'protocol error',
  TIMEOUT: 'timeout',
  CANCELLED: 'cancelled',
  RECEIPT_MISSING: 'no receipt',
  RECEIPT_MALFORMED: 'malformed receipt',
  NOT_A_RECEIPT: 'not a receipt',
  RECEIPT_KEY_MISMATCH: 'receipt for another key',
  RECEIPT_REPLAYED: 'replayed receipt',
  RECEIPT_MISMATCH: 'receipt mismatch',
  AUDIO_MISMATCH: 'audio mismatch',
  TRANSCRIPT_MISMATCH: 'transcript mismatch',
  UPLOAD_INCOMPLETE: 'answered before the upload ended',
  NOT_CONFIGURED: 'no server set',
  SETTINGS_INVALID: 'invalid settings',
  AUDIO_UNREADABLE: 'unreadable audio',
  INTERNAL_ERROR: 'internal error',
};

/** The status bar's reason for `code`; an unknown code (a newer core's) is shown as it is. */
export function shortReason(code: string): string {
  return Object.hasOwn(SHORT_REASONS, code) ? SHORT_REASONS[code as keyof typeof SHORT_REASONS] : code;
}

function sentence(text: string): string {
  if (!text) return text;
  const first = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}
