/**
 * COSE_Sign1 (RFC 9052 §4.2) as used by AWS Nitro, the verifier's half: strict parsing and the signature check. The
 * structure both sides share (algorithm, tag, `sigStructure`) is `src/shared/cose.ts`, so the simulation issuer and
 * the verifier cannot drift. Encoding whole documents is the server's.
 */
import { verify as nodeVerify, type KeyObject } from 'node:crypto';
import { Tag } from 'cbor-x';
import { AttestationError } from '../errors.js';
import { MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';
import { COSE_ALG_ES384, COSE_HEADER_ALG, COSE_SIGN1_TAG, ES384_SIGNATURE_LENGTH, sigStructure } from '../../shared/cose.js';
import { decodeStrict } from './cbor.js';

/** The four parts of a COSE_Sign1, before any of them is trusted. */
export interface CoseSign1 {
  readonly tagged: boolean;
  /** The protected header exactly as signed (a bstr holding a map). */
  readonly protectedHeader: Uint8Array;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** Splits `bytes` into a COSE_Sign1 and checks its headers; the signature is not checked here. */
export function parseCoseSign1(bytes: Uint8Array): CoseSign1 {
  let top = decodeStrict(bytes, { maxBytes: MAX_DOCUMENT_BYTES, maxDepth: 4, rootTag: COSE_SIGN1_TAG }, 'attestation document');
  const tagged = top instanceof Tag;
  if (top instanceof Tag) top = top.value;
  if (!Array.isArray(top) || top.length !== 4) {
    throw new AttestationError('MALFORMED_COSE', 'The attestation document is not a COSE_Sign1: expected an array of four items.');
  }
  const [protectedHeader, unprotected, payload, signature] = top as unknown[];
  if (!(protectedHeader instanceof Uint8Array)) throw cose('the protected header is not a byte string');
  if (!(unprotected instanceof Map)) throw cose('the unprotected header is not a map');
  if (unprotected.size !== 0) throw cose('the unprotected header is not empty');
  if (!(payload instanceof Uint8Array)) throw cose('the payload is not an attached byte string');
  if (!(signature instanceof Uint8Array)) throw cose('the signature is not a byte string');
  if (signature.length !== ES384_SIGNATURE_LENGTH) throw cose(`the signature is ${signature.length} bytes long, not ${ES384_SIGNATURE_LENGTH}`);
  checkProtectedHeader(protectedHeader);
  return Object.freeze({ tagged, protectedHeader, payload, signature });
}

/** The protected header must say ES384 and nothing else: any other parameter could change what the signature means. */
function checkProtectedHeader(bytes: Uint8Array): void {
  if (bytes.length === 0) throw cose('the protected header is empty, so no algorithm is signed');
  const header = decodeStrict(bytes, { maxBytes: 256, maxDepth: 2 }, 'protected header');
  if (!(header instanceof Map)) throw cose('the protected header is not a map');
  // cbor-x yields a bigint for an integer written with an 8-byte head; keys and values mean the same either way.
  const normalised = new Map([...header].map(([k, v]) => [typeof k === 'bigint' ? Number(k) : k, typeof v === 'bigint' ? Number(v) : v]));
  if (!normalised.has(COSE_HEADER_ALG)) throw cose('the protected header names no algorithm');
  const alg = normalised.get(COSE_HEADER_ALG);
  if (alg !== COSE_ALG_ES384) {
    throw new AttestationError('UNSUPPORTED_ALGORITHM', `The attestation document is signed with COSE algorithm ${String(alg)}; only ES384 (-35) is accepted.`);
  }
  for (const key of normalised.keys()) {
    if (key !== COSE_HEADER_ALG) throw cose(`the protected header carries parameter ${String(key)}, which is not accepted`);
  }
}

/** True when `signature` is a valid ES384 signature of the COSE_Sign1 by `key`. */
export function verifyCoseSignature(doc: CoseSign1, key: KeyObject): boolean {
  return nodeVerify('sha384', sigStructure(doc.protectedHeader, doc.payload), { key, dsaEncoding: 'ieee-p1363' }, doc.signature);
}

function cose(reason: string): AttestationError {
  return new AttestationError('MALFORMED_COSE', `The attestation document is not a valid COSE_Sign1: ${reason}.`);
}
