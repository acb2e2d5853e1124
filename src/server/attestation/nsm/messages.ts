/**
 * The Nitro Secure Module's messages, as AWS's `aws-nitro-enclaves-nsm-api` (src/api/mod.rs) defines them and
 * serde_cbor writes them: externally tagged enums, so a unit variant is its name as a text string (`"DescribeNSM"`),
 * a struct variant a one-entry map from its name to a map of its fields in declaration order
 * (`{"DescribePCR": {"index": 16}}`), and the error newtype variant `{"Error": "InvalidIndex"}`. Byte fields are
 * byte strings (`serde_bytes`); an absent optional field is CBOR null. Pure: bytes in, typed values out.
 */
import { cborEncoder, CborError, decodeStrictCbor } from '../../../shared/cbor.js';
import { NsmError, type NsmErrorCode } from './errors.js';

/** Largest request the driver takes, and largest response it returns (include/uapi/linux/nsm.h). */
export const NSM_REQUEST_MAX_SIZE = 0x1000;
export const NSM_RESPONSE_MAX_SIZE = 0x3000;

/** One request to the NSM (the subset of `Request` this server sends, all of it that a stand-in must answer). */
export type NsmRequest =
  | { readonly kind: 'DescribePCR'; readonly index: number }
  | { readonly kind: 'ExtendPCR'; readonly index: number; readonly data: Uint8Array }
  | { readonly kind: 'LockPCR'; readonly index: number }
  | { readonly kind: 'LockPCRs'; readonly range: number }
  | { readonly kind: 'DescribeNSM' }
  | { readonly kind: 'Attestation'; readonly userData: Uint8Array | null; readonly nonce: Uint8Array | null; readonly publicKey: Uint8Array | null }
  | { readonly kind: 'GetRandom' };

/** What the NSM answers to a request that succeeded. */
export interface DescribePcrResponse {
  readonly lock: boolean;
  readonly data: Uint8Array;
}
export interface DescribeNsmResponse {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly versionPatch: number;
  readonly moduleId: string;
  readonly maxPcrs: number;
  readonly lockedPcrs: readonly number[];
  readonly digest: 'SHA256' | 'SHA384' | 'SHA512';
}

/** The serde names of `ErrorCode`, in declaration order, and this project's code for each. */
const ERROR_CODES = {
  Success: 'NSM_SUCCESS_AS_ERROR',
  InvalidArgument: 'NSM_INVALID_ARGUMENT',
  InvalidIndex: 'NSM_INVALID_INDEX',
  InvalidResponse: 'NSM_INVALID_RESPONSE',
  ReadOnlyIndex: 'NSM_READ_ONLY_INDEX',
  InvalidOperation: 'NSM_INVALID_OPERATION',
  BufferTooSmall: 'NSM_BUFFER_TOO_SMALL',
  InputTooLarge: 'NSM_INPUT_TOO_LARGE',
  InternalError: 'NSM_INTERNAL_ERROR',
} as const satisfies Readonly<Record<string, NsmErrorCode>>;

/** The CBOR bytes of `request`, exactly as serde_cbor writes the same `Request`. */
export function encodeNsmRequest(request: NsmRequest): Uint8Array {
  let body: unknown;
  switch (request.kind) {
    case 'DescribeNSM':
    case 'GetRandom':
      return cborEncoder.encode(request.kind);
    case 'DescribePCR':
    case 'LockPCR':
      body = new Map([['index', u16(request.index)]]);
      break;
    case 'ExtendPCR':
      body = new Map<string, unknown>([['index', u16(request.index)], ['data', request.data]]);
      break;
    case 'LockPCRs':
      body = new Map([['range', u16(request.range)]]);
      break;
    case 'Attestation':
      body = new Map([['user_data', request.userData], ['nonce', request.nonce], ['public_key', request.publicKey]]);
      break;
  }
  const bytes = cborEncoder.encode(new Map([[request.kind, body]]));
  if (bytes.length > NSM_REQUEST_MAX_SIZE) {
    throw new NsmError('NSM_INPUT_TOO_LARGE', `the ${request.kind} request is ${bytes.length} bytes, more than the ${NSM_REQUEST_MAX_SIZE} the NSM accepts`);
  }
  return bytes;
}

/**
 * The body of the response to a `kind` request: the fields map of `{kind: {…}}`, or null for a unit answer
 * (`"LockPCR"`). Throws the NSM's own error (`{"Error": …}`) as its NsmError, and anything else, a response of
 * another kind included, as `NSM_MALFORMED_RESPONSE`.
 */
export function decodeNsmResponse(bytes: Uint8Array, kind: NsmRequest['kind']): Map<unknown, unknown> | null {
  let value: unknown;
  try {
    value = decodeStrictCbor(bytes, { maxBytes: NSM_RESPONSE_MAX_SIZE, maxDepth: 4 }, `NSM response to ${kind}`);
  } catch (err) {
    if (err instanceof CborError) throw new NsmError('NSM_MALFORMED_RESPONSE', err.message, { cause: err });
    throw err;
  }
  if (value === kind) return null;
  if (!(value instanceof Map) || value.size !== 1) throw malformed(kind, 'it is neither a variant name nor a one-entry map');
  const [[tag, body]] = [...value] as [[unknown, unknown]];
  if (tag === 'Error') {
    // Own names only: an inherited one ("constructor") is no ErrorCode.
    const code = typeof body === 'string' && Object.hasOwn(ERROR_CODES, body) ? ERROR_CODES[body as keyof typeof ERROR_CODES] : undefined;
    if (!code) throw malformed(kind, `its error ${JSON.stringify(String(body)).slice(0, 60)} is not an NSM ErrorCode`);
    throw new NsmError(code, `the NSM refused ${kind}: ${body as string}`);
  }
  if (tag !== kind) throw malformed(kind, `it answers ${JSON.stringify(String(tag)).slice(0, 60)}`);
  if (!(body instanceof Map)) throw malformed(kind, 'its fields are not a map');
  return body;
}

/** `DescribePCR { lock, data }`. */
export function parseDescribePcr(body: Map<unknown, unknown> | null): DescribePcrResponse {
  const fields = need(body, 'DescribePCR');
  return { lock: field(fields, 'DescribePCR', 'lock', isBool), data: field(fields, 'DescribePCR', 'data', isBytes) };
}

/** `ExtendPCR { data }`: the PCR's value after the extension. */
export function parseExtendPcr(body: Map<unknown, unknown> | null): Uint8Array {
  return field(need(body, 'ExtendPCR'), 'ExtendPCR', 'data', isBytes);
}

/** `Attestation { document }`: the COSE_Sign1 attestation document. */
export function parseAttestation(body: Map<unknown, unknown> | null): Uint8Array {
  return field(need(body, 'Attestation'), 'Attestation', 'document', isBytes);
}

/** `GetRandom { random }`. */
export function parseGetRandom(body: Map<unknown, unknown> | null): Uint8Array {
  return field(need(body, 'GetRandom'), 'GetRandom', 'random', isBytes);
}

/** `DescribeNSM { version_major, …, locked_pcrs, digest }`. */
export function parseDescribeNsm(body: Map<unknown, unknown> | null): DescribeNsmResponse {
  const f = need(body, 'DescribeNSM');
  const locked = field(f, 'DescribeNSM', 'locked_pcrs', (v): v is number[] => Array.isArray(v) && v.every(isU16));
  const digest = field(f, 'DescribeNSM', 'digest', (v): v is DescribeNsmResponse['digest'] => v === 'SHA256' || v === 'SHA384' || v === 'SHA512');
  return {
    versionMajor: field(f, 'DescribeNSM', 'version_major', isU16),
    versionMinor: field(f, 'DescribeNSM', 'version_minor', isU16),
    versionPatch: field(f, 'DescribeNSM', 'version_patch', isU16),
    moduleId: field(f, 'DescribeNSM', 'module_id', (v): v is string => typeof v === 'string'),
    maxPcrs: field(f, 'DescribeNSM', 'max_pcrs', isU16),
    lockedPcrs: locked,
    digest,
  };
}

/** A unit answer (`LockPCR`, `LockPCRs`): nothing to read, but it must be one. */
export function parseUnit(body: Map<unknown, unknown> | null, kind: 'LockPCR' | 'LockPCRs'): void {
  if (body !== null) throw malformed(kind, 'it carries fields where the NSM answers the bare variant name');
}

function need(body: Map<unknown, unknown> | null, kind: string): Map<unknown, unknown> {
  if (body === null) throw malformed(kind, 'it has no fields');
  return body;
}

function field<T>(fields: Map<unknown, unknown>, kind: string, name: string, check: (v: unknown) => v is T): T {
  const value = fields.get(name);
  if (!check(value)) throw malformed(kind, `its ${name} is missing or of the wrong type`);
  // cbor-x hands out Buffers; callers get plain Uint8Arrays, as every other byte string in the project is.
  return (Buffer.isBuffer(value) ? new Uint8Array(value.buffer, value.byteOffset, value.length) : value) as T;
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isU16 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;

function u16(n: number): number {
  if (!isU16(n)) throw new RangeError(`${n} is not a u16`);
  return n;
}

function malformed(kind: string, why: string): NsmError {
  return new NsmError('NSM_MALFORMED_RESPONSE', `the NSM's response to ${kind} is not one: ${why}`);
}
