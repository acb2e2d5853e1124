/**
 * `verifyAttestation`: bytes in, a verified, immutable view of the enclave out,
 * or an `AttestationError`. It reads top to bottom like AWS's procedure:
 * structure → chain to a trusted root → document signature → caller's policy.
 * Nothing half-verified is ever returned.
 */
import { AttestationError, InputError, underChainRoot } from '../errors.js';
import { fromHex, toHex, toHexOrNull } from '../util/hex.js';
import { validateChain, type CertificateSummary } from './chain.js';
import { parseCoseSign1, verifyCoseSignature } from './cose.js';
import { parsePayload } from './payload.js';
import { checkAge, checkNonce, checkPcrs, DEFAULT_MAX_FUTURE_SKEW_MS, normalisePcrPolicy, type PcrPolicy } from './policy.js';
import { AWS_NITRO_ROOT_G1, type TrustedRoot } from './roots.js';
import { sha256Hex } from '../util/sha256.js';

export interface VerifyOptions {
  /** The verification time. Defaults to the current time; pass it explicitly to verify a document as of when it was issued. */
  readonly now?: Date;
  /** Trust anchors for `cabundle[0]`. Default: the embedded AWS Nitro Enclaves Root G1 only. */
  readonly roots?: readonly TrustedRoot[];
  /** PCRs that must be present with exactly these values (index → hex). */
  readonly expectedPcrs?: PcrPolicy;
  /** The nonce the caller sent (hex or bytes); the document must carry it. */
  readonly expectedNonce?: string | Uint8Array;
  /** Reject documents issued longer than this before `now`. */
  readonly maxAgeMs?: number;
  /** Tolerated clock difference for documents dated after `now` (default 60 s). */
  readonly maxFutureSkewMs?: number;
}

/**
 * An attestation document that passed every check. Binary fields are lower-case hex for reports and people; `bytes`
 * keeps the two a caller acts on as received, so that nothing decodes hex back into bytes.
 */
export interface VerifiedAttestation {
  readonly moduleId: string;
  /** Issue time, milliseconds since the Unix epoch. */
  readonly timestamp: number;
  readonly digest: 'SHA384';
  /** PCR index → hex value, in index order. */
  readonly pcrs: Readonly<Record<number, string>>;
  readonly publicKey: string | null;
  readonly userData: string | null;
  readonly nonce: string | null;
  /** `public_key` and `user_data` exactly as in the document. */
  readonly bytes: { readonly publicKey: Uint8Array | null; readonly userData: Uint8Array | null };
  /** Root first, leaf last. */
  readonly chain: readonly CertificateSummary[];
  /** The trust anchor the chain ends in; `isAwsNitroRoot` is false for a simulation root. */
  readonly root: TrustedRoot;
  /** Whether the COSE_Sign1 carried CBOR tag 18. */
  readonly tagged: boolean;
  /** SHA-256 of the whole document, to name it in logs and evidence. */
  readonly documentSha256: string;
  /** The `now` it was verified at (ms). */
  readonly verifiedAt: number;
}

/** Verifies a Nitro attestation document. Throws `AttestationError` (with a stable `code`) on any failure. */
export function verifyAttestation(bytes: Uint8Array, options: VerifyOptions = {}): VerifiedAttestation {
  // Options are the caller's own input: a malformed one is a programming or usage error (InputError), checked first.
  const now = options.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new InputError('INVALID_OPTION', 'The verification time is not a valid date');
  const expectedPcrs = options.expectedPcrs ? normalisePcrPolicy(options.expectedPcrs) : undefined;
  const expectedNonce = typeof options.expectedNonce === 'string' ? fromHex(options.expectedNonce, 'The expected nonce') : options.expectedNonce;
  const roots = options.roots ?? [AWS_NITRO_ROOT_G1];
  if (roots.length === 0) throw new InputError('INVALID_OPTION', 'No trusted root was given');
  if (options.maxAgeMs !== undefined && !(options.maxAgeMs >= 0)) throw new InputError('INVALID_OPTION', 'The maximum age must be a non-negative number of milliseconds');

  const cose = parseCoseSign1(bytes);
  const payload = parsePayload(cose.payload);
  const chain = validateChain(payload.cabundle, payload.certificate, roots, now);
  if (!verifyCoseSignature(cose, chain.leafKey)) {
    throw new AttestationError('SIGNATURE_INVALID', 'The attestation document signature does not verify with the key of its leaf certificate: the document was altered or forged.');
  }

  underChainRoot(chain.root, () => {
    if (expectedPcrs) checkPcrs(payload, expectedPcrs);
    if (expectedNonce) checkNonce(payload, expectedNonce);
    checkAge(payload, now, options.maxAgeMs, options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
  });

  const pcrs: Record<number, string> = {};
  for (const index of [...payload.pcrs.keys()].sort((a, b) => a - b)) pcrs[index] = toHex(payload.pcrs.get(index)!);

  return Object.freeze({
    moduleId: payload.moduleId,
    timestamp: payload.timestamp,
    digest: payload.digest,
    pcrs: Object.freeze(pcrs),
    publicKey: toHexOrNull(payload.publicKey),
    userData: toHexOrNull(payload.userData),
    nonce: toHexOrNull(payload.nonce),
    // Copies: the caller may reuse the buffer the document arrived in.
    bytes: Object.freeze({ publicKey: copyOrNull(payload.publicKey), userData: copyOrNull(payload.userData) }),
    chain: chain.certificates,
    root: chain.root,
    tagged: cose.tagged,
    documentSha256: sha256Hex(bytes),
    verifiedAt: now.getTime(),
  });
}

function copyOrNull(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : new Uint8Array(bytes);
}
