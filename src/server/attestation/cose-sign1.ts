/** Encodes a COSE_Sign1 from its parts: the issuer's side of the structure in src/shared/cose.ts. */
import { Tag } from 'cbor-x';
import { cborEncoder } from '../../shared/cbor.js';
import { COSE_SIGN1_TAG } from '../../shared/cose.js';

export function encodeCoseSign1(parts: { protectedHeader: Uint8Array; payload: Uint8Array; signature: Uint8Array; tagged?: boolean }): Uint8Array {
  const body = [parts.protectedHeader, new Map(), parts.payload, parts.signature];
  return cborEncoder.encode(parts.tagged ? new Tag(body, COSE_SIGN1_TAG) : body);
}
