/**
 * Every failure the user sees, reduced to a stable code and one sentence.
 * The core's errors keep their codes; the extension adds its own few
 * (errors.ts). Messages may quote text from a server or a certificate, so they
 * are made one printable line here; plain-text.ts and markdown.ts defuse them
 * for the places that render links or markup.
 */
import {
  ATTESTATION_ERROR_CODES,
  AttestationError,
  BlindBoxError,
  CHANNEL_ERROR_CODES,
  ChannelError,
  InputError,
  isUntrustedFailure,
  RECEIPT_ERROR_CODES,
  ReceiptError,
  serverSaid,
  type AttestationErrorCode,
  type ChainRootFact,
  type ChannelErrorCode,
  type PcrMismatchFact,
  type PresentedCertificateFact,
  type InputErrorCode,
  type ReceiptErrorCode,
  type UntrustedRoot,
} from '../../core/errors.js';
import { oneLine } from '../../shared/text.js';
import { EXTENSION_ERROR_CODES, ExtensionError, type ExtensionErrorCode } from './errors.js';
import type { CheckId } from '../trust/checks.js';

/** What went wrong, for the status bar, notifications, the webview and the evidence file. */
export interface Failure {
  /** A `FailureCode` (`failure` makes them); typed as any string so that a newer core's code is still shown as it is. */
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
  /** CHAIN_UNTRUSTED: the root the server's chain started at (the core says what kind), for *Trust a Root…* to offer. */
  readonly untrustedRoot?: UntrustedRoot;
  /**
   * The root the chain ended in, when the refusal came after the chain was proven (a PCR, the nonce, the age, the TLS
   * binding): a simulation root makes the refused state SIMULATION too.
   */
  readonly chainRoot?: ChainRootFact;
  /** PCR_MISMATCH: the PCR and both values in full (the core's). */
  readonly pcr?: PcrMismatchFact;
  /** TLS_BINDING_MISMATCH: the certificate presented instead of the attested key (the core's, one line each). */
  readonly presented?: PresentedCertificateFact;
}

/** Every code a `Failure` is made with: the core's (input codes map to the extension's) and the extension's own. */
export type FailureCode = AttestationErrorCode | ChannelErrorCode | ReceiptErrorCode | ExtensionErrorCode;

/** The families a `FailureCode` comes from, with the error class that carries each. */
const FAMILIES = [
  [ATTESTATION_ERROR_CODES, AttestationError],
  [CHANNEL_ERROR_CODES, ChannelError],
  [RECEIPT_ERROR_CODES, ReceiptError],
  [EXTENSION_ERROR_CODES, ExtensionError],
] as const;

/**
 * The one way a `Failure` is made from a code: `message` (by default the code's sentence in its family's table) and
 * `untrusted` (the core's rule, applied to the code's family).
 */
export function failure(code: FailureCode, message?: string): Failure {
  const [, cls] = FAMILIES.find(([codes]) => Object.hasOwn(codes, code))!;
  return fromError(new cls(code as never, message));
}

/** Reduces anything thrown to a `Failure`: each error's own code decides (input errors map to the extension's codes). */
export function describeFailure(err: unknown): Failure {
  if (err instanceof InputError) return failure(inputFailureCode(err.code), sentence(oneLine(err.message)));
  if (err instanceof BlindBoxError) return fromError(err);
  if (isAbort(err)) return failure('CANCELLED');
  const text = err instanceof Error ? err.message : String(err);
  return failure('INTERNAL_ERROR', sentence(oneLine(text || EXTENSION_ERROR_CODES.INTERNAL_ERROR)));
}

function fromError(err: BlindBoxError): Failure {
  const said = serverSaid(err);
  const root = err instanceof AttestationError ? err.untrustedRoot : undefined;
  const pcr = err instanceof AttestationError ? err.pcr : undefined;
  const presented = err instanceof ChannelError ? err.presented : undefined;
  return {
    code: err.code,
    message: oneLine(err.message),
    untrusted: isUntrustedFailure(err),
    ...(said ? { serverSaid: oneLine(said, 300) } : {}),
    ...(root ? { untrustedRoot: root } : {}),
    ...(err.chainRoot ? { chainRoot: { label: oneLine(err.chainRoot.label, 200), simulation: err.chainRoot.simulation } } : {}),
    ...(pcr ? { pcr } : {}),
    ...(presented ? { presented: { subject: oneLine(presented.subject, 200), issuer: oneLine(presented.issuer, 200) } } : {}),
  };
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

/** The one action that fixes a failure, where there is one: the notification offers it as a button. */
export type FailureFix = 'configureServer' | 'trustRoot' | 'openUserSettings' | 'proxySettings' | 'networkDiagnostics';

/** What the extension shows for a code: exhaustive, so that a new code cannot go unfiled. */
interface FailureFacts {
  /** The status bar's reason (`FAILED · <short>`). */
  readonly short: string;
  /** The attestation check the code refuses (the view files it there), or null: the attestation did not complete. */
  readonly check: CheckId | null;
  readonly fix: FailureFix | null;
}

const FAILURE_FACTS: Readonly<Record<FailureCode, FailureFacts>> = {
  MALFORMED_CBOR: { short: 'malformed document', check: 'hardware', fix: null },
  MALFORMED_COSE: { short: 'malformed document', check: 'hardware', fix: null },
  MALFORMED_PAYLOAD: { short: 'malformed document', check: 'hardware', fix: null },
  UNSUPPORTED_ALGORITHM: { short: 'unsupported algorithm', check: 'hardware', fix: null },
  CHAIN_UNTRUSTED: { short: 'untrusted root', check: 'hardware', fix: 'trustRoot' },
  CERT_INVALID: { short: 'invalid certificate', check: 'hardware', fix: null },
  CERT_EXPIRED: { short: 'certificate expired', check: 'hardware', fix: null },
  CERT_NOT_YET_VALID: { short: 'certificate not yet valid', check: 'hardware', fix: null },
  SIGNATURE_INVALID: { short: 'bad signature', check: 'hardware', fix: null },
  PCR_MISMATCH: { short: 'PCR mismatch', check: 'code', fix: null },
  NONCE_MISMATCH: { short: 'nonce mismatch', check: 'hardware', fix: null },
  STALE_DOCUMENT: { short: 'stale document', check: 'hardware', fix: null },
  // The network is where these go wrong (no route, a proxy, TLS inspection): the diagnosis says which step.
  TLS_BINDING_MISMATCH: { short: 'TLS key not attested', check: 'channel', fix: 'networkDiagnostics' },
  INSPECTED_TLS_UNTRUSTED: { short: 'TLS inspection not trusted', check: 'channel', fix: 'networkDiagnostics' },
  SEALED_RESPONSE_INVALID: { short: 'sealed answer forged', check: 'channel', fix: null },
  SERVER_UNREACHABLE: { short: 'unreachable', check: null, fix: 'networkDiagnostics' },
  PROXY_AUTH_REQUIRED: { short: 'proxy wants credentials', check: null, fix: 'proxySettings' },
  SERVER_ERROR: { short: 'server error', check: null, fix: null },
  PROTOCOL_ERROR: { short: 'protocol error', check: null, fix: null },
  TIMEOUT: { short: 'timeout', check: null, fix: null },
  CANCELLED: { short: 'cancelled', check: null, fix: null },
  STREAM_OUT_OF_ORDER: { short: 'stream out of order', check: null, fix: null },
  STREAM_MALFORMED: { short: 'malformed stream', check: null, fix: null },
  STREAM_INCOMPLETE: { short: 'stream cut short', check: null, fix: null },
  STREAM_TOO_LONG: { short: 'stream too long', check: null, fix: null },
  RECEIPT_MISSING: { short: 'no receipt', check: null, fix: null },
  RECEIPT_MALFORMED: { short: 'malformed receipt', check: null, fix: null },
  NOT_A_RECEIPT: { short: 'not a receipt', check: null, fix: null },
  RECEIPT_KEY_MISMATCH: { short: 'receipt for another key', check: null, fix: null },
  RECEIPT_REPLAYED: { short: 'replayed receipt', check: null, fix: null },
  RECEIPT_MISMATCH: { short: 'receipt mismatch', check: null, fix: null },
  AUDIO_MISMATCH: { short: 'audio mismatch', check: null, fix: null },
  TRANSCRIPT_MISMATCH: { short: 'transcript mismatch', check: null, fix: null },
  UPLOAD_INCOMPLETE: { short: 'answered before the upload ended', check: null, fix: null },
  STREAM_TEXT_MISMATCH: { short: 'streamed text mismatch', check: null, fix: null },
  NOT_CONFIGURED: { short: 'no server set', check: null, fix: 'configureServer' },
  SETTINGS_INVALID: { short: 'invalid settings', check: null, fix: 'openUserSettings' },
  AUDIO_UNREADABLE: { short: 'unreadable audio', check: null, fix: null },
  INTERNAL_ERROR: { short: 'internal error', check: null, fix: null },
};

/** The facts for a code, or undefined for an unknown one (a newer core's); inherited property names are not codes. */
function factsOf(code: string): FailureFacts | undefined {
  return Object.hasOwn(FAILURE_FACTS, code) ? FAILURE_FACTS[code as FailureCode] : undefined;
}

/** The status bar's reason for `code`; an unknown code is shown as it is. */
export function shortReason(code: string): string {
  return factsOf(code)?.short ?? code;
}

/** The attestation check `code` refuses, or undefined when it refuses none (the attestation did not complete). */
export function failedCheck(code: string): CheckId | undefined {
  return factsOf(code)?.check ?? undefined;
}

/** The action that fixes `code`, if one does. */
export function failureFix(code: string): FailureFix | undefined {
  return factsOf(code)?.fix ?? undefined;
}

function sentence(text: string): string {
  if (!text) return text;
  const first = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}
