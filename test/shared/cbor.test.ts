/**
 * The shared strict CBOR decoder refuses with its own neutral error, which each side maps at its boundary: the client
 * to `AttestationError('MALFORMED_CBOR')`, the server to `NSM_MALFORMED_RESPONSE`, both keeping its sentence.
 * (What is refused is tested in test/core/attestation/cbor.test.ts and the fuzz tests.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CborError, decodeStrictCbor } from '../../src/shared/cbor.js';
import { decodeStrict } from '../../src/core/attestation/cbor.js';
import { AttestationError, BlindBoxError } from '../../src/core/errors.js';
import { decodeNsmResponse } from '../../src/server/attestation/nsm/messages.js';
import { NsmError } from '../../src/server/attestation/nsm/errors.js';

/** A one-entry map followed by a stray byte. */
const trailing = Uint8Array.from([0xa1, 0x01, 0x02, 0x00]);
const limits = { maxBytes: 64, maxDepth: 2 };

describe('shared strict CBOR', () => {
  it('refuses with a CborError that belongs to neither side', () => {
    const err = captured(() => decodeStrictCbor(trailing, limits, 'test item'));
    assert.ok(err instanceof CborError);
    assert.equal(err.code, 'MALFORMED_CBOR');
    assert.equal(err.message, 'The test item is not well-formed CBOR: 1 unexpected bytes follow the end of the item.');
    assert.ok(!(err instanceof AttestationError) && !(err instanceof BlindBoxError));
  });

  it('the client maps it to AttestationError MALFORMED_CBOR, same sentence', () => {
    const shared = captured(() => decodeStrictCbor(trailing, limits, 'test item'));
    const client = captured(() => decodeStrict(trailing, limits, 'test item'));
    assert.ok(client instanceof AttestationError);
    assert.equal(client.code, 'MALFORMED_CBOR');
    assert.equal(client.message, shared.message);
  });

  it('the server maps it to NsmError NSM_MALFORMED_RESPONSE, same sentence', () => {
    const err = captured(() => decodeNsmResponse(trailing, 'DescribeNSM'));
    assert.ok(err instanceof NsmError);
    assert.equal(err.code, 'NSM_MALFORMED_RESPONSE');
    assert.equal(err.message, 'The NSM response to DescribeNSM is not well-formed CBOR: 1 unexpected bytes follow the end of the item.');
    assert.ok(err.cause instanceof CborError);
  });
});

function captured(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected a throw');
}
