/**
 * Encodes and signs Nitro attestation documents (COSE_Sign1, ES384) from a
 * chain whose leaf key we hold. Shares `sigStructure` and the CBOR encoder
 * with the verifier, so both sides mean the same bytes.
 */
import { webcrypto } from 'node:crypto';
import type { KeyPair } from './certificates.js';
import { cborEncoder } from '../../shared/cbor.js';
import { COSE_ALG_ES384, COSE_HEADER_ALG, sigStructure } from '../../shared/cose.js';
import { encodeCoseSign1 } from './cose-sign1.js';

/** What a document says about the enclave. Absent optional fields are encoded as explicit null, as the NSM does. */
export interface DocumentContent {
  readonly moduleId: string;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  readonly publicKey?: Uint8Array | null;
  readonly userData?: Uint8Array | null;
  readonly nonce?: Uint8Array | null;
}

/** The certificates a document carries and the key that signs it. */
export interface DocumentSigner {
  readonly leaf: { readonly der: Uint8Array; readonly keys: KeyPair };
  readonly cabundle: readonly Uint8Array[];
}

/** Encoding knobs; the defaults match what a real NSM emits. Tests turn them to make one thing wrong. */
export interface EncodingOptions {
  /** Wrap in CBOR tag 18 (real NSM output is untagged). */
  readonly tagged?: boolean;
  /** Replace the protected header map (default `{1: -35}`). */
  readonly protectedHeader?: Map<number, unknown>;
  /** Leave out null optional fields instead of encoding them as null. */
  readonly omitNullFields?: boolean;
  /** Last change to the payload map before it is encoded and signed. */
  readonly editPayload?: (payload: Map<string, unknown>) => void;
}

/** Builds the payload map in the NSM's field order. */
export function payloadMap(content: DocumentContent, signer: DocumentSigner, omitNullFields = false): Map<string, unknown> {
  const map = new Map<string, unknown>([
    ['module_id', content.moduleId],
    ['digest', 'SHA384'],
    // As a bigint so that cbor-x writes a uint64 like the NSM, not a float.
    ['timestamp', BigInt(content.timestamp)],
    ['pcrs', new Map(content.pcrs)],
    ['certificate', signer.leaf.der],
    ['cabundle', [...signer.cabundle]],
  ]);
  for (const [key, value] of [['public_key', content.publicKey], ['user_data', content.userData], ['nonce', content.nonce]] as const) {
    if (value != null || !omitNullFields) map.set(key, value ?? null);
  }
  return map;
}

/** Encodes and signs one attestation document. */
export async function issueAttestationDocument(content: DocumentContent, signer: DocumentSigner, options: EncodingOptions = {}): Promise<Uint8Array> {
  const payload = payloadMap(content, signer, options.omitNullFields);
  options.editPayload?.(payload);
  const payloadBytes = cborEncoder.encode(payload);
  const protectedHeader = cborEncoder.encode(options.protectedHeader ?? new Map([[COSE_HEADER_ALG, COSE_ALG_ES384]]));
  const signature = new Uint8Array(
    await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, signer.leaf.keys.privateKey, sigStructure(protectedHeader, payloadBytes)),
  );
  return encodeCoseSign1({ protectedHeader, payload: payloadBytes, signature, tagged: options.tagged });
}
