/**
 * Every failure the user sees, reduced to a stable code and one sentence.
 * The core's errors keep their codes; the extension adds its own few
 * (settings, audio files, internal faults). Messages may quote text from a
 * server or a certificate, so they are made one printable line here and
 * defused for the places that render markup.
 */
import { AttestationError, BlindBoxError, brandErrorClass, ChannelError, quoteServerText, serverSaid } from '../core/errors.js';

/** Codes the extension itself raises (the core's codes pass through unchanged). */
export const EXTENSION_ERROR_CODES = {
  NOT_CONFIGURED: 'No BlindBox server is configured: set blindbox.serverUrl in your user settings.',
  SETTINGS_INVALID: 'A BlindBox setting is invalid.',
  AUDIO_UNREADABLE: 'The audio file cannot be read.',
  INTERNAL_ERROR: 'BlindBox failed unexpectedly; the log has the details.',
} as const;

export type ExtensionErrorCode = keyof typeof EXTENSION_ERROR_CODES;

/**
 * A failure the extension raises on purpose, with one of its own codes. Branded
 * like the core's errors: the extension ships as two bundles (the eager part and
 * the lazily loaded core), each with its own copy of this class.
 */
export class ExtensionError extends Error {
  readonly code: ExtensionErrorCode;
  constructor(code: ExtensionErrorCode, message: string = EXTENSION_ERROR_CODES[code], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExtensionError';
    this.code = code;
  }
}
brandErrorClass(ExtensionError, 'blindbox.error.extension');

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

/** Where the failure happened decides how a `RangeError` (the core's "your input is wrong") is named. */
export type FailurePhase = 'settings' | 'attestation' | 'audio' | 'transcription';

/** Reduces anything thrown to a `Failure`. */
export function describeFailure(err: unknown, phase: FailurePhase): Failure {
  if (err instanceof AttestationError) return { code: err.code, message: oneLine(err.message), untrusted: true };
  if (err instanceof ChannelError) {
    const said = serverSaid(err);
    return { code: err.code, message: oneLine(err.message), untrusted: err.code === 'TLS_BINDING_MISMATCH', ...(said ? { serverSaid: oneLine(said, 300) } : {}) };
  }
  if (err instanceof BlindBoxError) return { code: err.code, message: oneLine(err.message), untrusted: false };
  if (err instanceof ExtensionError) return { code: err.code, message: oneLine(err.message), untrusted: false };
  if (err instanceof RangeError) {
    // The core's RangeErrors are about the caller's input: a bad URL or policy (settings) or an unreadable file (audio).
    const code: ExtensionErrorCode = phase === 'audio' ? 'AUDIO_UNREADABLE' : phase === 'settings' || phase === 'attestation' ? 'SETTINGS_INVALID' : 'INTERNAL_ERROR';
    return { code, message: sentence(oneLine(err.message)), untrusted: false };
  }
  if (isAbort(err)) return { code: 'CANCELLED', message: 'The operation was cancelled.', untrusted: false };
  const text = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL_ERROR', message: sentence(oneLine(text || EXTENSION_ERROR_CODES.INTERNAL_ERROR)), untrusted: false };
}

function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && (e.name === 'AbortError' || e.code === 'ABORT_ERR');
}

/** Short reasons for the status bar (`FAILED · <reason>`); unknown codes are shown as they are. */
const SHORT_REASONS: Readonly<Record<string, string>> = {
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
  NOT_CONFIGURED: 'no server set',
  SETTINGS_INVALID: 'invalid settings',
  AUDIO_UNREADABLE: 'unreadable audio',
  INTERNAL_ERROR: 'internal error',
};

export function shortReason(code: string): string {
  return SHORT_REASONS[code] ?? code;
}

/** One printable line: control, line-separator and bidi-override characters become spaces; bounded length. */
export function oneLine(text: string, max = 500): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}

function sentence(text: string): string {
  if (!text) return text;
  const first = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}

/** `CODE: sentence`, then what the server said, if anything, quoted (the log and notifications). */
export function failureLine(failure: Failure): string {
  const said = failure.serverSaid ? ` ${serverSaidLine(failure.serverSaid)}` : '';
  return `${failure.code}: ${defuseLinks(failure.message)}${said}`;
}

/**
 * Text for a notification: `CODE: sentence`. VS Code renders `[label](target)`
 * in notifications as a link, so bracket-paren pairs are broken apart: a
 * certificate subject must not become a clickable link.
 */
export function notificationText(failure: Failure): string {
  return `BlindBox: ${failureLine(failure)}`;
}

/**
 * `Server said: "…"` for plain text that VS Code may linkify (notifications, the output channel): attributed, quoted
 * so that it cannot pass for our sentence, and with links defused and URLs defanged (`https[:]//`) so none is clickable.
 */
export function serverSaidLine(said: string): string {
  return `Server said: ${quoteServerText(defangUrls(defuseLinks(oneLine(said))))}`;
}

export function defuseLinks(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

function defangUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//').replace(/\bwww\./gi, 'www[.]');
}
