/** Encodes a COSE_Sign1 from its parts: the issuer's side of core/attestation/cose.ts, which parses and verifies. */
import { Tag } from 'cbor-x';
import { cborEncoder, COSE_SIGN1_TAG } from '../../core/attestation/cose.js';

export function encodeCoseSign1(parts: { protectedHeader: Uint8Array; payload: Uint8Array; signature: Uint8Array; tagged?: boolean }): Uint8Array {
  const body = [parts.protectedHeader, new Map(), parts.payload, parts.signature];
  return cborEncoder.encode(parts.tagged ? new Tag(body, COSE_SIGN1_TAG) : body);
}
