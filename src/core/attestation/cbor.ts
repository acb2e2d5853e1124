/**
 * The client's strict CBOR: the shared decoder (`src/shared/cbor.ts`), whose refusals the client reports as
 * `AttestationError('MALFORMED_CBOR')` with the decoder's own sentence.
 */
import { AttestationError } from '../errors.js';
import { CborError, decodeStrictCbor, type CborLimits } from '../../shared/cbor.js';

export type { CborLimits };

/**
 * Checks that `bytes` hold exactly one well-formed CBOR item within `limits`, then decodes it with maps as `Map`,
 * byte strings as `Uint8Array`. Throws `AttestationError('MALFORMED_CBOR')` with the reason otherwise.
 */
export function decodeStrict(bytes: Uint8Array, limits: CborLimits, what: string): unknown {
  try {
    return decodeStrictCbor(bytes, limits, what);
  } catch (err) {
    if (err instanceof CborError) throw new AttestationError('MALFORMED_CBOR', err.message, 'cause' in err ? { cause: err.cause } : undefined);
    throw err;
  }
}
