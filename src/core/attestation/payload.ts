/**
 * The Nitro attestation payload (AWS "attestation document specification"),
 * checked field by field with the bounds of the spec and of real NSM output.
 */
import { inspect } from 'node:util';
import { AttestationError } from '../errors.js';
import { decodeStrict } from './cbor.js';
import { MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';

/** The largest `public_key`, `user_data` and `nonce` an NSM emits (real documents carry exactly 1024). */
export const MAX_OPTIONAL_FIELD_BYTES = 1024;
/** Bounds of one DER certificate in `certificate` and `cabundle`. */
export const MAX_CERTIFICATE_BYTES = 1024;
/** PCR indices run 0..31; their values are 32, 48 or 64 bytes. */
export const PCR_COUNT_MAX = 32;
const PCR_LENGTHS = new Set([32, 48, 64]);
/** The last instant a JavaScript Date can hold (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/** A decoded, well-typed payload; nothing in it is authenticated yet. */
export interface AttestationPayload {
  readonly moduleId: string;
  readonly digest: 'SHA384';
  readonly timestamp: number;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  readonly certificate: Uint8Array;
  readonly cabundle: readonly Uint8Array[];
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
}

const KNOWN_KEYS = new Set(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);

/** Decodes and checks the payload bytes of a COSE_Sign1. */
export function parsePayload(bytes: Uint8Array): AttestationPayload {
  const map = decodeStrict(bytes, { maxBytes: MAX_DOCUMENT_BYTES, maxDepth: 3 }, 'attestation payload');
  if (!(map instanceof Map)) throw bad('it is not a map');
  for (const key of map.keys()) {
    if (typeof key !== 'string' || !KNOWN_KEYS.has(key)) throw bad(`it has an unknown field ${describe(key)}`);
  }

  const moduleId = map.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) throw bad('module_id is missing or not a non-empty text string');

  const digest = map.get('digest');
  if (digest !== 'SHA384') throw bad(`digest is ${describe(digest)}, not "SHA384"`);

  // cbor-x returns 64-bit integers as bigint; the CBOR walk already bounded them to 2^53.
  const rawTimestamp = map.get('timestamp');
  const timestamp = typeof rawTimestamp === 'bigint' ? Number(rawTimestamp) : rawTimestamp;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0 || timestamp > MAX_DATE_MS) {
    throw bad('timestamp is missing or not a positive integer of milliseconds within the range of dates');
  }

  const pcrs = parsePcrs(map.get('pcrs'));

  const certificate = map.get('certificate');
  if (!isCertificateBytes(certificate)) throw bad(`certificate is missing or not 1..${MAX_CERTIFICATE_BYTES} bytes`);

  const cabundle = map.get('cabundle');
  if (!Array.isArray(cabundle) || cabundle.length === 0) throw bad('cabundle is missing or empty');
  cabundle.forEach((entry, i) => {
    if (!isCertificateBytes(entry)) throw bad(`cabundle[${i}] is not 1..${MAX_CERTIFICATE_BYTES} bytes`);
  });

  return Object.freeze({
    moduleId,
    digest,
    timestamp,
    pcrs,
    certificate,
    cabundle: Object.freeze(cabundle as Uint8Array[]),
    publicKey: optionalBytes(map, 'public_key'),
    userData: optionalBytes(map, 'user_data'),
    nonce: optionalBytes(map, 'nonce'),
  });
}

function parsePcrs(value: unknown): ReadonlyMap<number, Uint8Array> {
  if (!(value instanceof Map)) throw bad('pcrs is missing or not a map');
  if (value.size === 0 || value.size > PCR_COUNT_MAX) throw bad(`pcrs has ${value.size} entries, not 1..${PCR_COUNT_MAX}`);
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, digest] of value) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= PCR_COUNT_MAX) {
      throw bad(`pcrs has an index ${String(index)} outside 0..${PCR_COUNT_MAX - 1}`);
    }
    if (!(digest instanceof Uint8Array) || !PCR_LENGTHS.has(digest.length)) {
      throw bad(`PCR${index} is not a 32, 48 or 64-byte string`);
    }
    pcrs.set(index, digest);
  }
  return pcrs;
}

function isCertificateBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length >= 1 && value.length <= MAX_CERTIFICATE_BYTES;
}

/** Absent and explicit `null` both mean "not set". */
function optionalBytes(map: Map<unknown, unknown>, key: string): Uint8Array | null {
  const value = map.get(key);
  if (value === undefined || value === null) return null;
  if (!(value instanceof Uint8Array)) throw bad(`${key} is neither null nor a byte string`);
  if (value.length > MAX_OPTIONAL_FIELD_BYTES) throw bad(`${key} is ${value.length} bytes, more than ${MAX_OPTIONAL_FIELD_BYTES}`);
  return value;
}

/** A short, safe rendering of an unchecked decoded value (it may be a bigint, bytes, a map…). */
function describe(value: unknown): string {
  return inspect(value, { depth: 0, maxArrayLength: 4, maxStringLength: 40, breakLength: Infinity });
}

function bad(reason: string): AttestationError {
  return new AttestationError('MALFORMED_PAYLOAD', `The attestation payload is not in the Nitro format: ${reason}.`);
}
