/**
 * Typed errors of the attested client core.
 *
 * Every failure carries a stable `code` (for programs: the extension switches
 * on it, the CLI prints it) and a message that is one sentence a person can act
 * on. The table below is the single source of the codes and their default
 * sentences; thrown errors usually add the specific detail (which certificate,
 * which PCR, which time).
 */

/** Codes of failures while deciding whether an attestation document is genuine and acceptable. */
export const ATTESTATION_ERROR_CODES = {
  MALFORMED_CBOR: 'The attestation document is not well-formed CBOR.',
  MALFORMED_COSE: 'The attestation document is not a valid COSE_Sign1 structure.',
  UNSUPPORTED_ALGORITHM: 'The attestation document is signed with an algorithm other than ES384.',
  MALFORMED_PAYLOAD: 'The attestation document payload does not have the Nitro attestation format.',
  CHAIN_UNTRUSTED: 'The attestation document does not chain to a trusted root certificate.',
  CERT_INVALID: 'A certificate in the attestation chain is invalid.',
  CERT_EXPIRED: 'A certificate in the attestation chain has expired.',
  CERT_NOT_YET_VALID: 'A certificate in the attestation chain is not valid yet.',
  SIGNATURE_INVALID: 'The attestation document signature does not verify.',
  PCR_MISMATCH: 'The enclave measurements (PCRs) do not match the expected policy.',
  NONCE_MISMATCH: 'The attestation document does not carry the nonce that was asked for.',
  STALE_DOCUMENT: 'The attestation document is too old, or dated in the future.',
} as const;

export type AttestationErrorCode = keyof typeof ATTESTATION_ERROR_CODES;

/**
 * Makes `instanceof cls` hold for instances from any copy of this code (the CLI, the extension's two bundles) by a
 * `Symbol.for` brand on the prototype, as undici does for its errors. Subclasses inherit their parents' brands.
 */
export function brandErrorClass(cls: abstract new (...args: never[]) => Error, key: string): void {
  const brand = Symbol.for(key);
  Object.defineProperty(cls.prototype, brand, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (value: unknown) => typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true,
  });
}

/** The trust anchor an authentic chain ended in, as a refusal that came after the chain was proven names it. */
export interface ChainRootFact {
  readonly label: string;
  /** Not AWS's Nitro root: no enclave hardware stands behind the document, refused or not. */
  readonly simulation: boolean;
}

/** What PCR_MISMATCH found: the PCR, the document's value (null when absent) and the policy's, full lower-case hex. */
export interface PcrMismatchFact {
  readonly index: number;
  readonly actual: string | null;
  readonly expected: string;
}

/** TLS_BINDING_MISMATCH: the certificate presented instead of the attested key, named (one line each, bounded). */
export interface PresentedCertificateFact {
  readonly subject: string;
  readonly issuer: string;
}

/** Base of every error the core throws on purpose. `code` is stable across releases. */
export class BlindBoxError extends Error {
  readonly code: string;
  /**
   * Set on a refusal that came after the chain was proven (a PCR, the nonce, the age, the TLS binding): the root it
   * ended in, so that a refusal under a simulation root still says SIMULATION.
   */
  chainRoot?: ChainRootFact;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlindBoxError';
    this.code = code;
  }
}
brandErrorClass(BlindBoxError, 'blindbox.error');

/** The root a refused chain started at (CHAIN_UNTRUSTED), so that the user can be offered to trust it knowingly. */
export interface UntrustedRoot {
  /** DER bytes of the certificate the document's `cabundle` starts with. */
  readonly der: Uint8Array;
  readonly sha256: string;
  /** What the certificate is (attestation/roots.ts `rootKind` decides); never AWS's, which is always trusted. */
  readonly kind: 'blindbox-simulation' | 'other';
  /** How many BlindBox simulation roots this verification trusted (another one, then: e.g. the server restarted without `--ca`). */
  readonly trustedSimulationRoots: number;
}

/** An attestation document was rejected; nothing about it may be trusted. */
export class AttestationError extends BlindBoxError {
  declare readonly code: AttestationErrorCode;
  /** Set on CHAIN_UNTRUSTED when the chain starts at a root that is not trusted. */
  readonly untrustedRoot: UntrustedRoot | undefined;
  /** Set on PCR_MISMATCH: both values in full, so that no view has to show two cut-off prefixes. */
  readonly pcr: PcrMismatchFact | undefined;

  constructor(code: AttestationErrorCode, message: string = ATTESTATION_ERROR_CODES[code], options?: { cause?: unknown; untrustedRoot?: UntrustedRoot; pcr?: PcrMismatchFact }) {
    super(code, message, options);
    this.name = 'AttestationError';
    this.untrustedRoot = options?.untrustedRoot;
    this.pcr = options?.pcr;
  }
}
brandErrorClass(AttestationError, 'blindbox.error.attestation');

/** Codes of failures talking to an (attested) server. */
export const CHANNEL_ERROR_CODES = {
  TLS_BINDING_MISMATCH: 'The server presented a TLS certificate other than the one its attestation vouches for.',
  INSPECTED_TLS_UNTRUSTED: 'TLS is terminated by a middlebox whose certificate this system does not trust.',
  SEALED_RESPONSE_INVALID: 'The answer to a sealed request is not sealed under that request: it was changed, cut, or belongs to another request.',
  SERVER_UNREACHABLE: 'The server could not be reached.',
  PROXY_AUTH_REQUIRED: 'The proxy asked for credentials (HTTP 407) that were not given or that it refused.',
  SERVER_ERROR: 'The server answered with an error.',
  PROTOCOL_ERROR: 'The server answered in a way the BlindBox protocol does not allow.',
  TIMEOUT: 'The server did not answer in time.',
  CANCELLED: 'The operation was cancelled.',
  STREAM_OUT_OF_ORDER: 'The streamed transcript\'s events did not come in the protocol\'s order (deltas, receipt, done).',
  STREAM_MALFORMED: 'The streamed transcript carried an event that is not one of the protocol\'s.',
  STREAM_INCOMPLETE: 'The streamed transcript ended before its last event.',
  STREAM_TOO_LONG: 'The streamed transcript went on past the size a transcript can have.',
} as const;

export type ChannelErrorCode = keyof typeof CHANNEL_ERROR_CODES;

/**
 * The conversation with the server failed (network, protocol, TLS pin); `status` is set when the server answered.
 * `serverCode` and `serverMessage` are the server's own words (sanitised, one line): they are kept out of `message`,
 * which is always our sentence, because before attestation anyone can answer and must not be able to speak as us.
 */
export class ChannelError extends BlindBoxError {
  declare readonly code: ChannelErrorCode;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly serverMessage: string | undefined;
  /** TLS_BINDING_MISMATCH: the certificate the network presented, so that a view can show whose it is. */
  readonly presented: PresentedCertificateFact | undefined;

  constructor(
    code: ChannelErrorCode,
    message: string = CHANNEL_ERROR_CODES[code],
    options?: { cause?: unknown; status?: number; serverCode?: string; serverMessage?: string; presented?: PresentedCertificateFact },
  ) {
    super(code, message, options);
    this.name = 'ChannelError';
    this.status = options?.status;
    this.serverCode = options?.serverCode;
    this.serverMessage = options?.serverMessage;
    this.presented = options?.presented;
  }
}
brandErrorClass(ChannelError, 'blindbox.error.channel');

/**
 * Codes of a transcript receipt refused: the server's signed statement that this enclave produced this transcript
 * for this audio is missing, malformed, or says something else. The document's own failures (chain, signature, PCRs)
 * keep their attestation codes.
 */
export const RECEIPT_ERROR_CODES = {
  RECEIPT_MISSING: 'The server sent the transcript without a receipt: no enclave signed for it.',
  RECEIPT_MALFORMED: 'The receipt is not a BlindBox transcript receipt.',
  NOT_A_RECEIPT: 'The document is a plain attestation document, not a transcript receipt: it binds no transcript.',
  RECEIPT_KEY_MISMATCH: 'The receipt is signed for a TLS key other than the one of the connection the transcript came on.',
  RECEIPT_REPLAYED: 'The receipt does not carry this request\'s nonce: it was issued for another request.',
  RECEIPT_MISMATCH: 'The receipt describes another kind of answer (format or enclave) than the one received.',
  AUDIO_MISMATCH: 'The audio does not hash to what the receipt binds.',
  TRANSCRIPT_MISMATCH: 'The transcript does not hash to what the receipt binds.',
  UPLOAD_INCOMPLETE: 'The server answered before it had received the whole audio: no receipt can cover the audio sent.',
  STREAM_TEXT_MISMATCH: 'The streamed segments joined are not the final text the receipt binds.',
} as const;

export type ReceiptErrorCode = keyof typeof RECEIPT_ERROR_CODES;

/** SHA-256 (hex) of a file as checked, and as the receipt signed it. */
export interface CheckedHash {
  readonly checked: string;
  readonly signed: string;
}

/** For `AUDIO_MISMATCH` and `TRANSCRIPT_MISMATCH`: both hashes, so that a refusal can say which file differs (or both). */
export interface ReceiptHashes {
  readonly audio: CheckedHash;
  readonly transcript: CheckedHash;
}

/** A transcript receipt was refused; the transcript it came with must not be shown as the enclave's. */
export class ReceiptError extends BlindBoxError {
  declare readonly code: ReceiptErrorCode;
  /** Set for `AUDIO_MISMATCH` and `TRANSCRIPT_MISMATCH`: the message says it in words, these are the details. */
  readonly hashes?: ReceiptHashes;

  constructor(code: ReceiptErrorCode, message: string = RECEIPT_ERROR_CODES[code], options?: { cause?: unknown; hashes?: ReceiptHashes }) {
    super(code, message, options);
    this.name = 'ReceiptError';
    if (options?.hashes) this.hashes = options.hashes;
  }
}
brandErrorClass(ReceiptError, 'blindbox.error.receipt');

/**
 * Codes of the caller's own input the core refuses (a setting, a flag, a file the user named): a mistake to correct
 * where it was made, never a verdict about the server. The CLI reports them as usage errors (exit 2), the extension
 * as an invalid setting or an unreadable audio file.
 */
export const INPUT_ERROR_CODES = {
  INVALID_URL: 'The server URL is not an https:// origin without credentials.',
  INVALID_OPTION: 'An option is missing or outside its allowed range.',
  INVALID_HEX: 'A value that must be hex is not an even-length hex string.',
  INVALID_PCR: 'A PCR index or expected PCR value is malformed.',
  INVALID_POLICY: 'The attestation policy is malformed.',
  INVALID_ROOT: 'A trusted root file holds no valid PEM certificate.',
  UNREADABLE_INPUT_FILE: 'An input file cannot be read.',
  INPUT_FILE_TOO_LARGE: 'An input file is larger than allowed.',
  UNSAFE_OUTPUT_PATH: 'An output file would overwrite an input, another output of the same run, a symbolic link or a special file.',
  NOT_A_REGULAR_FILE: 'An input file is a named pipe, device, socket or directory: only regular files are read.',
  INVALID_AUDIO_FILE: 'The audio file cannot be uploaded: it is unreadable, not a regular file, empty or too large.',
  UNSUPPORTED_AUDIO: 'The file is not audio in a format the server decodes (WAV, MP3, FLAC, Ogg Vorbis or Opus).',
  INVALID_EVIDENCE: 'The evidence file is not attestation evidence with a document to check.',
} as const;

export type InputErrorCode = keyof typeof INPUT_ERROR_CODES;

/** The caller's input was refused before anything was sent; `message` names the input and what is wrong with it. */
export class InputError extends BlindBoxError {
  declare readonly code: InputErrorCode;

  constructor(code: InputErrorCode, message: string = INPUT_ERROR_CODES[code], options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'InputError';
  }
}
brandErrorClass(InputError, 'blindbox.error.input');

/** Channel failures that say the channel to the enclave cannot be trusted: another key, an untrusted interceptor, a forged answer. */
const UNTRUSTED_CHANNEL_CODES: ReadonlySet<ChannelErrorCode> = new Set(['TLS_BINDING_MISMATCH', 'INSPECTED_TLS_UNTRUSTED', 'SEALED_RESPONSE_INVALID']);

/**
 * The one rule for "this failure means the server is not (provably) the expected enclave": its attestation was
 * rejected, the TLS key it presented is not the attested one, or it would not sign a valid receipt for its answer
 * (or the receipt does not cover the files at hand). Everything else (network, server refusals, the
 * caller's input) says nothing about the server's identity. The CLI's exit code 1 and the extension's "untrusted"
 * flag both come from here.
 */
export function isUntrustedFailure(err: unknown): boolean {
  return err instanceof AttestationError || err instanceof ReceiptError || (err instanceof ChannelError && UNTRUSTED_CHANNEL_CODES.has(err.code));
}

/**
 * What the server itself said with a refusal (`CODE: message`), or undefined. Unauthenticated when it answered
 * /attestation: show it only quoted and attributed to the server, never as BlindBox's advice.
 */
/**
 * Runs `check` (a refusal it throws is about a document whose chain ended in `root`) and names the root on that
 * refusal. The first root named stays: it is the one the checks ran under.
 */
export function underChainRoot<T>(root: { readonly label: string; readonly isAwsNitroRoot: boolean }, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof BlindBoxError && !(err instanceof InputError)) err.chainRoot ??= { label: root.label, simulation: !root.isAwsNitroRoot };
    throw err;
  }
}

export function serverSaid(err: unknown): string | undefined {
  if (!(err instanceof ChannelError)) return undefined;
  return [err.serverCode, err.serverMessage].filter(Boolean).join(': ') || undefined;
}
