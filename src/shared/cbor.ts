/**
 * Strict CBOR decoding, for attestation documents (the client) and NSM responses (the server), and the one encoder
 * for what the server writes and signs.
 *
 * `cbor-x` does the decoding. Before it sees a byte, `checkWellFormed` walks the
 * item headers once (RFC 8949 §C) to enforce what a general-purpose decoder
 * tolerates but a verifier must not: trailing bytes, duplicate map keys (a
 * decoder keeps one of them silently), lengths longer than the input, deep
 * nesting, tags, floats and invalid UTF-8. The walk never allocates per item
 * beyond the duplicate-key sets, so hostile input costs linear time.
 */
import { Decoder, Encoder } from 'cbor-x';
import { endSentence } from './text.js';

/** Limits for one strict decode. */
export interface CborLimits {
  /** Largest input accepted, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of arrays and maps. */
  readonly maxDepth: number;
  /** The only tag accepted, and only on the outermost item (COSE_Sign1 is tag 18). */
  readonly rootTag?: number;
}

/** Encoder for the structures we write and sign; maps stay maps and byte strings stay untagged. */
export const cborEncoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, copyBuffers: true });
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Input that is not one well-formed CBOR item within the limits. Neutral: each side maps it at its boundary to its
 * own error family (the client to `AttestationError('MALFORMED_CBOR')`, the server to `NSM_MALFORMED_RESPONSE`),
 * keeping the message, a whole sentence naming what was read and why it was refused.
 */
export class CborError extends Error {
  readonly code = 'MALFORMED_CBOR';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CborError';
  }
}

/** Thrown inside the walk; turned into one CborError at the boundary. */
class Malformed extends Error {}

/**
 * Checks that `bytes` hold exactly one well-formed CBOR item within `limits`,
 * then decodes it with maps as `Map`, byte strings as `Uint8Array`.
 * Throws `CborError` with the reason otherwise; `what` names the item in its message.
 */
export function decodeStrictCbor(bytes: Uint8Array, limits: CborLimits, what: string): unknown {
  if (bytes.length === 0) throw new CborError(`The ${what} is empty.`);
  if (bytes.length > limits.maxBytes) {
    throw new CborError(`The ${what} is ${bytes.length} bytes long, more than the ${limits.maxBytes} bytes allowed.`);
  }
  try {
    const end = walk(bytes, 0, 0, limits);
    if (end !== bytes.length) throw new Malformed(`${bytes.length - end} unexpected bytes follow the end of the item`);
  } catch (err) {
    if (err instanceof Malformed) throw new CborError(endSentence(`The ${what} is not well-formed CBOR: ${err.message}`));
    throw err;
  }
  try {
    return decoder.decode(bytes);
  } catch (err) {
    // The walk accepts only what cbor-x decodes; reaching here is a decoder bug, still reported as malformed input.
    throw new CborError(`The ${what} could not be decoded as CBOR.`, { cause: err });
  }
}

/** Reads the argument of the head at `pos`; returns [value, headLength], value -1 for indefinite length. */
function readHead(b: Uint8Array, pos: number): [major: number, value: number, next: number] {
  const initial = b[pos]!;
  const major = initial >> 5;
  const info = initial & 0x1f;
  const p = pos + 1;
  if (info < 24) return [major, info, p];
  if (info === 31) return [major, -1, p];
  if (info > 27) throw new Malformed(`reserved additional information ${info} at offset ${pos}`);
  if (major === 7 && info > 24) throw new Malformed(`unsupported float at offset ${pos}`);
  const size = 1 << (info - 24);
  if (p + size > b.length) throw new Malformed(`the head at offset ${pos} runs past the end of the input`);
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + b[p + i]!;
  // Above 2^53 no length can fit in memory; integers that large are not used by Nitro documents.
  if (!Number.isSafeInteger(value)) throw new Malformed(`integer too large at offset ${pos}`);
  return [major, value, p + size];
}

function walk(b: Uint8Array, pos: number, depth: number, limits: CborLimits): number {
  if (pos >= b.length) throw new Malformed('the input ends in the middle of an item');
  const [major, value, p] = readHead(b, pos);
  switch (major) {
    case 0:
    case 1:
      if (value < 0) throw new Malformed(`indefinite length on an integer at offset ${pos}`);
      return p;
    case 2:
    case 3:
      // cbor-x does not decode chunked strings, and no NSM writes them: reject with a clear reason.
      if (value < 0) throw new Malformed(`indefinite-length (chunked) string at offset ${pos} is not supported`);
      return stringEnd(b, p, value, major, pos);
    case 4:
    case 5: {
      if (depth >= limits.maxDepth) throw new Malformed(`nesting deeper than ${limits.maxDepth} levels at offset ${pos}`);
      const perEntry = major === 5 ? 2 : 1;
      // Every item takes at least one byte: a count larger than the rest of the input is a lie.
      if (value >= 0 && value * perEntry > b.length - p) throw new Malformed(`a ${major === 5 ? 'map' : 'array'} at offset ${pos} claims ${value} entries, more than the input holds`);
      const keys = major === 5 ? new Set<string>() : undefined;
      let q = p;
      for (let i = 0; value < 0 || i < value; i++) {
        if (value < 0) {
          if (q >= b.length) throw new Malformed(`the indefinite-length item at offset ${pos} has no end`);
          if (b[q] === 0xff) return q + 1;
        }
        if (keys) {
          const keyStart = q;
          q = walk(b, q, depth + 1, limits);
          const id = keyIdentity(b, keyStart, q);
          if (keys.has(id)) throw new Malformed(`duplicate map key at offset ${keyStart}`);
          keys.add(id);
        }
        q = walk(b, q, depth + 1, limits);
      }
      return q;
    }
    case 6:
      if (depth !== 0 || limits.rootTag === undefined || value !== limits.rootTag) throw new Malformed(`unexpected tag ${value} at offset ${pos}`);
      return walk(b, p, depth, { ...limits, rootTag: undefined });
    default: // 7: simple values and floats
      // false, true, null, and only in their one-byte form (RFC 8949 §3.3: f8 14 is not well-formed).
      if ((value === 20 || value === 21 || value === 22) && p === pos + 1) return p;
      if (value < 0) throw new Malformed(`unexpected break at offset ${pos}`);
      throw new Malformed(`unsupported simple value or float at offset ${pos}`);
  }
}

function stringEnd(b: Uint8Array, p: number, length: number, major: number, pos: number): number {
  if (length > b.length - p) throw new Malformed(`a string at offset ${pos} claims ${length} bytes, more than the input holds`);
  if (major === 3) {
    try {
      utf8.decode(b.subarray(p, p + length));
    } catch {
      throw new Malformed(`invalid UTF-8 in the text string at offset ${pos}`);
    }
  }
  return p + length;
}

/**
 * A key's identity by meaning, not by encoding, so that `0x01` and `0x1801`
 * count as the same key. Only integers, text and byte strings may be keys in
 * the documents we read.
 */
function keyIdentity(b: Uint8Array, start: number, end: number): string {
  const [major, value, p] = readHead(b, start);
  if (major === 0 || major === 1) return `${major}:${value}`;
  if (major !== 2 && major !== 3) throw new Malformed(`map key of unsupported type at offset ${start}`);
  return `${major}:${Buffer.from(b.subarray(p, end)).toString('hex')}`;
}
