/**
 * COSE_Sign1 (RFC 9052 §4.2) as AWS Nitro uses it, the structure both sides share: ES384 only, attached payload,
 * empty external AAD. The server signs (`src/server/attestation/document.ts`) and the client verifies
 * (`src/core/attestation/cose.ts`) over the one `sigStructure` here, so the two cannot drift.
 */
import { cborEncoder } from './cbor.js';

/** COSE algorithm identifier of ECDSA w/ SHA-384 on P-384. */
export const COSE_ALG_ES384 = -35;
/** CBOR tag of COSE_Sign1. */
export const COSE_SIGN1_TAG = 18;
/** Label of the algorithm in a protected header. */
export const COSE_HEADER_ALG = 1;
/** Raw r‖s of a P-384 signature. */
export const ES384_SIGNATURE_LENGTH = 96;

/** The bytes that are signed: `["Signature1", protected, h'', payload]`. */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return cborEncoder.encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
}
