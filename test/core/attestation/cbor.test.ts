/**
 * Strict CBOR decoding (`decodeStrict`) and COSE_Sign1 parsing (`parseCoseSign1`) on hand-built inputs.
 * Inputs are written as hex, spaced by item, so that each case reads as its encoding (RFC 8949 §3).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { Tag } from 'cbor-x';
import { decodeStrict, type CborLimits } from '../../../src/core/attestation/cbor.js';
import { parseCoseSign1 } from '../../../src/core/attestation/cose.js';
import { cborEncoder } from '../../../src/shared/cbor.js';
import { AttestationError, type AttestationErrorCode } from '../../../src/core/errors.js';

/** Spaced hex → bytes. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  assert.match(digits, /^(?:[0-9a-f]{2})*$/i, `test hex "${text}" is whole bytes`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

const LIMITS: CborLimits = { maxBytes: 1024, maxDepth: 8 };

function decode(text: string, limits: CborLimits = LIMITS): unknown {
  return decodeStrict(hex(text), limits, 'test item');
}

/** `fn` must throw an AttestationError with `code` whose message is one sentence giving the reason. */
function rejects(fn: () => unknown, code: AttestationErrorCode, reason: RegExp): AttestationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AttestationError, `expected an AttestationError, got ${(err as Error)?.stack ?? String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, /^[A-Z].*\.$/s, 'the message is a sentence');
    assert.match(err.message, reason);
    return err;
  }
  assert.fail(`expected ${code}, but nothing was thrown`);
}

interface Malformed {
  readonly name: string;
  readonly hex: string;
  readonly reason: RegExp;
  readonly limits?: CborLimits;
}

/** One `it` per case, each expecting MALFORMED_CBOR with `reason`. */
function malformedCases(cases: readonly Malformed[]): void {
  for (const c of cases) {
    it(`${c.name}: ${c.hex || '(empty)'}`, () => {
      rejects(() => decode(c.hex, c.limits), 'MALFORMED_CBOR', c.reason);
    });
  }
}

describe('decodeStrict rejects', () => {
  describe('input size', () => {
    malformedCases([
      { name: 'empty input', hex: '', reason: /is empty/ },
      { name: 'input over maxBytes', hex: '44 01020304', limits: { ...LIMITS, maxBytes: 4 }, reason: /5 bytes long, more than the 4 bytes allowed/ },
    ]);
  });

  describe('trailing bytes', () => {
    malformedCases([
      { name: 'one byte after an integer', hex: '01 00', reason: /1 unexpected bytes follow the end of the item/ },
      { name: 'a second complete map', hex: 'a0 a10102', reason: /3 unexpected bytes follow/ },
    ]);
  });

  describe('duplicate map keys', () => {
    const duplicate = /duplicate map key/;
    malformedCases([
      { name: 'same key, same encoding', hex: 'a2 01 00 01 01', reason: duplicate },
      { name: 'integer 1 as 0x01 and as 0x18 0x01', hex: 'a2 01 00 1801 01', reason: duplicate },
      { name: 'integer 1 as 0x01 and with an 8-byte head', hex: 'a2 01 00 1b0000000000000001 01', reason: duplicate },
      { name: 'integer -1 as 0x20 and as 0x38 0x00', hex: 'a2 20 00 3800 01', reason: duplicate },
      { name: 'text "ab" twice', hex: 'a2 626162 00 626162 01', reason: duplicate },
      { name: 'bytes 0102 twice', hex: 'a2 420102 00 420102 01', reason: duplicate },
      { name: 'in an indefinite-length map', hex: 'bf 6161 00 6161 01 ff', reason: duplicate },
      { name: 'in a nested map', hex: '81 a2 01 00 01 00', reason: duplicate },
    ]);
  });

  describe('lengths larger than the input', () => {
    malformedCases([
      { name: 'byte string', hex: '45 010203', reason: /string at offset 0 claims 5 bytes, more than the input holds/ },
      { name: 'text string', hex: '65 616263', reason: /claims 5 bytes, more than the input holds/ },
      { name: 'array count', hex: '83 01 02', reason: /array at offset 0 claims 3 entries, more than the input holds/ },
      { name: 'map count', hex: 'a2 01 02', reason: /map at offset 0 claims 2 entries, more than the input holds/ },
      { name: '4-byte length 0xffffffff', hex: '5a ffffffff 00', reason: /claims 4294967295 bytes, more than the input holds/ },
      { name: 'head cut short', hex: '19 01', reason: /head at offset 0 runs past the end of the input/ },
      // 2^64 - 1 cannot be a length in memory: refused whatever the item.
      { name: 'byte string of 8-byte length 0xffffffffffffffff', hex: '5b ffffffffffffffff 00', reason: /integer too large at offset 0/ },
      { name: 'array of 8-byte count 0xffffffffffffffff', hex: '9b ffffffffffffffff 00', reason: /integer too large at offset 0/ },
      { name: 'map of 8-byte count 0xffffffffffffffff', hex: 'bb ffffffffffffffff 00 00', reason: /integer too large at offset 0/ },
    ]);
  });

  describe('nesting', () => {
    const deep = { maxBytes: 1 << 20, maxDepth: 8 };
    for (const [name, level] of [['arrays', '81'], ['indefinite arrays', '9f'], ['maps', 'a1 00']] as const) {
      it(`10,000 nested ${name} (${level} …) quickly, without overflowing the stack`, () => {
        const start = performance.now();
        rejects(() => decode(level.repeat(10_000) + '00', deep), 'MALFORMED_CBOR', /nesting deeper than 8 levels/);
        assert.ok(performance.now() - start < 200, 'rejected at the limit, not after walking the whole input');
      });
    }
    it('one level over the limit, while the limit itself is accepted', () => {
      assert.deepEqual(decode('81'.repeat(8) + '00'), [[[[[[[[0]]]]]]]]);
      rejects(() => decode('81'.repeat(9) + '00'), 'MALFORMED_CBOR', /nesting deeper than 8 levels at offset 8/);
    });
  });

  describe('reserved, misplaced or unterminated items', () => {
    malformedCases([
      { name: 'reserved additional info 28', hex: '1c', reason: /reserved additional information 28/ },
      { name: 'reserved additional info 29', hex: '5d 00', reason: /reserved additional information 29/ },
      { name: 'reserved additional info 30', hex: '9e', reason: /reserved additional information 30/ },
      { name: 'break on its own', hex: 'ff', reason: /unexpected break at offset 0/ },
      { name: 'break inside a definite array', hex: '82 01 ff', reason: /unexpected break at offset 2/ },
      { name: 'break where a map value belongs', hex: 'bf 01 ff', reason: /unexpected break at offset 2/ },
      { name: 'indefinite length on an integer', hex: '1f', reason: /indefinite length on an integer/ },
      { name: 'indefinite-length map without its break', hex: 'bf 01 02', reason: /indefinite-length item at offset 0 has no end/ },
      { name: 'indefinite-length array without its break', hex: '9f 01', reason: /has no end/ },
      { name: 'input ending inside an array', hex: '82 01', reason: /claims 2 entries/ },
    ]);
  });

  describe('indefinite-length (chunked) strings, which no NSM writes and cbor-x cannot decode', () => {
    const chunked = /indefinite-length \(chunked\) string at offset \d+ is not supported/;
    malformedCases([
      { name: 'chunked byte string', hex: '5f 4101 4102 ff', reason: chunked },
      { name: 'chunked text string', hex: '7f 6161 6162 ff', reason: chunked },
      { name: 'chunked string without its break', hex: '5f 4101', reason: chunked },
      { name: 'chunked map key', hex: 'a1 7f 6161 ff 00', reason: chunked },
    ]);
  });

  describe('invalid UTF-8 in a text string', () => {
    const invalid = /invalid UTF-8 in the text string at offset 0/;
    malformedCases([
      { name: 'truncated sequence', hex: '62 c328', reason: invalid },
      { name: 'overlong NUL', hex: '62 c080', reason: invalid },
      { name: 'lone surrogate', hex: '63 eda080', reason: invalid },
      { name: 'byte 0xff', hex: '61 ff', reason: invalid },
    ]);
  });

  describe('floats and simple values', () => {
    const simpleValue = /unsupported simple value/;
    const float = /unsupported (simple value or )?float/;
    malformedCases([
      { name: 'undefined', hex: 'f7', reason: simpleValue },
      { name: 'simple value 0', hex: 'e0', reason: simpleValue },
      { name: 'simple value 255', hex: 'f8 ff', reason: simpleValue },
      // RFC 8949 §3.3: simple values below 32 in the two-byte form are not well-formed.
      { name: 'false in the two-byte form', hex: 'f8 14', reason: simpleValue },
      { name: 'half float 1.0', hex: 'f9 3c00', reason: float },
      { name: 'half float NaN', hex: 'f9 7e00', reason: float },
      { name: 'single float 1.0', hex: 'fa 3f800000', reason: float },
      { name: 'double float 1.0', hex: 'fb 3ff0000000000000', reason: float },
      // Floats whose bits equal 20–22, the numbers of false/true/null: the float must not pass as a simple value.
      { name: 'half float with bits 0x0014', hex: 'f9 0014', reason: float },
      { name: 'single float with bits 0x00000015', hex: 'fa 00000015', reason: float },
      { name: 'double float with bits 0x16', hex: 'fb 0000000000000016', reason: float },
    ]);
  });

  describe('tags', () => {
    const cose = { ...LIMITS, rootTag: 18 };
    malformedCases([
      { name: 'tag 1 without a root tag', hex: 'c1 00', reason: /unexpected tag 1 at offset 0/ },
      { name: 'tag 18 without a root tag', hex: 'd2 80', reason: /unexpected tag 18 at offset 0/ },
      { name: 'another tag where 18 is the root tag', hex: 'd8 62 80', limits: cose, reason: /unexpected tag 98 at offset 0/ },
      { name: 'tag 18 nested in an array', hex: '81 d2 80', limits: cose, reason: /unexpected tag 18 at offset 1/ },
      { name: 'tag 18 nested in a map value', hex: 'a1 01 d2 80', limits: cose, reason: /unexpected tag 18 at offset 2/ },
      { name: 'tag 18 on tag 18', hex: 'd2 d2 80', limits: cose, reason: /unexpected tag 18 at offset 1/ },
    ]);
  });
});

describe('decodeStrict accepts', () => {
  it('a definite-length map, as a Map', () => {
    const map = decode('a2 01 02 6161 6162');
    assert.ok(map instanceof Map);
    assert.deepEqual([...map], [[1, 2], ['a', 'b']]);
  });

  it('an indefinite-length map, as a Map', () => {
    const map = decode('bf 6161 01 6162 a1 01 02 ff');
    assert.ok(map instanceof Map);
    assert.equal(map.get('a'), 1);
    assert.ok(map.get('b') instanceof Map, 'nested maps are Maps too');
  });

  it('equal bytes under different key types as distinct keys', () => {
    const map = decode('a2 4161 00 6161 01') as Map<unknown, unknown>;
    assert.equal(map.size, 2);
    assert.equal(map.get('a'), 1);
  });

  it('byte strings, as Uint8Array', () => {
    const bytes = decode('43 010203');
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual([...bytes], [1, 2, 3]);
  });

  it('null as null, also as a map value', () => {
    assert.equal(decode('f6'), null);
    const map = decode('a1 6161 f6') as Map<unknown, unknown>;
    assert.ok(map.has('a'));
    assert.equal(map.get('a'), null);
  });

  it('false and true', () => {
    assert.deepEqual(decode('82 f4 f5'), [false, true]);
  });

  it('tag 18 at the top when it is the root tag', () => {
    const tagged = decode('d2 80', { ...LIMITS, rootTag: 18 });
    assert.ok(tagged instanceof Tag);
    assert.equal(tagged.tag, 18);
    assert.deepEqual(tagged.value, []);
  });
});

describe('parseCoseSign1', () => {
  /** The protected header `{1: -35}` (alg ES384). */
  const ES384 = hex('a1 01 3822');

  interface CoseParts {
    readonly protectedHeader: unknown;
    readonly unprotected: unknown;
    readonly payload: unknown;
    readonly signature: unknown;
  }

  /** A COSE_Sign1 of the Nitro shape, with `changes` applied; cbor-x encodes the envelope. */
  function cose(changes: Partial<CoseParts> = {}, tagged = false): Uint8Array {
    const p: CoseParts = { protectedHeader: ES384, unprotected: new Map(), payload: hex('a0'), signature: new Uint8Array(96), ...changes };
    const body = [p.protectedHeader, p.unprotected, p.payload, p.signature];
    return Uint8Array.from(cborEncoder.encode(tagged ? new Tag(body, 18) : body));
  }

  const malformedCose = (bytes: Uint8Array, reason: RegExp) => rejects(() => parseCoseSign1(bytes), 'MALFORMED_COSE', reason);

  it('accepts an untagged COSE_Sign1', () => {
    const doc = parseCoseSign1(cose({ payload: hex('a1 01 02') }));
    assert.equal(doc.tagged, false);
    assert.deepEqual([...doc.protectedHeader], [...ES384]);
    assert.deepEqual([...doc.payload], [0xa1, 0x01, 0x02]);
    assert.equal(doc.signature.length, 96);
  });

  it('accepts tag 18 at the top wrapping the array of four', () => {
    assert.equal(parseCoseSign1(cose({}, true)).tagged, true);
  });

  it('rejects tag 18 wrapping anything but an array of four', () => {
    malformedCose(hex('d2 a0'), /expected an array of four items/);
    malformedCose(hex('d2 40'), /expected an array of four items/);
    malformedCose(Uint8Array.from(cborEncoder.encode(new Tag([ES384, new Map(), hex('a0')], 18))), /expected an array of four items/);
  });

  it('rejects another tag at the top (COSE_Sign, 98) as malformed CBOR', () => {
    rejects(() => parseCoseSign1(Uint8Array.from([0xd8, 0x62, ...cose()])), 'MALFORMED_CBOR', /attestation document is not well-formed CBOR: unexpected tag 98/);
  });

  it('rejects tag 18 nested inside the COSE_Sign1', () => {
    rejects(() => parseCoseSign1(cose({ protectedHeader: new Tag(ES384, 18) })), 'MALFORMED_CBOR', /unexpected tag 18 at offset 1/);
  });

  it('rejects trailing bytes after the COSE_Sign1', () => {
    rejects(() => parseCoseSign1(Uint8Array.from([...cose(), 0x00])), 'MALFORMED_CBOR', /1 unexpected bytes follow/);
  });

  it('rejects a document over 64 KiB before decoding it', () => {
    rejects(() => parseCoseSign1(cose({ payload: new Uint8Array(65_536) })), 'MALFORMED_CBOR', /more than the 65536 bytes allowed/);
  });

  it('rejects a map instead of an array', () => {
    malformedCose(hex('a0'), /not a COSE_Sign1: expected an array of four items/);
  });

  it('rejects an array of three', () => {
    malformedCose(hex('83 44a1013822 a0 40'), /expected an array of four items/);
  });

  it('rejects an array of five', () => {
    malformedCose(Uint8Array.from(cborEncoder.encode([ES384, new Map(), hex('a0'), new Uint8Array(96), null])), /expected an array of four items/);
  });

  it('rejects a protected header that is a map rather than a byte string', () => {
    malformedCose(cose({ protectedHeader: new Map([[1, -35]]) }), /the protected header is not a byte string/);
  });

  it('rejects an empty protected header', () => {
    malformedCose(cose({ protectedHeader: new Uint8Array(0) }), /the protected header is empty, so no algorithm is signed/);
  });

  it('rejects a protected header holding something other than a map', () => {
    malformedCose(cose({ protectedHeader: hex('82 01 3822') }), /the protected header is not a map/);
  });

  it('rejects a protected header that is not well-formed CBOR', () => {
    rejects(() => parseCoseSign1(cose({ protectedHeader: hex('a1 01') })), 'MALFORMED_CBOR', /protected header is not well-formed CBOR/);
  });

  it('rejects a protected header without an algorithm', () => {
    malformedCose(cose({ protectedHeader: hex('a1 04 4101') }), /the protected header names no algorithm/);
  });

  it('rejects {1: -7} (ES256) as UNSUPPORTED_ALGORITHM', () => {
    rejects(() => parseCoseSign1(cose({ protectedHeader: hex('a1 01 26') })), 'UNSUPPORTED_ALGORITHM', /COSE algorithm -7; only ES384 \(-35\) is accepted/);
  });

  it('rejects ES384 with an extra parameter {1: -35, 2: [1]}', () => {
    malformedCose(cose({ protectedHeader: hex('a2 01 3822 02 81 01') }), /the protected header carries parameter 2, which is not accepted/);
  });

  it('rejects ES384 with a key id {1: -35, 4: h\'01\'}', () => {
    malformedCose(cose({ protectedHeader: hex('a2 01 3822 04 4101') }), /carries parameter 4/);
  });

  it('rejects an unprotected header that is null', () => {
    malformedCose(cose({ unprotected: null }), /the unprotected header is not a map/);
  });

  it('rejects a non-empty unprotected header', () => {
    malformedCose(cose({ unprotected: new Map([[4, hex('01')]]) }), /the unprotected header is not empty/);
  });

  it('rejects a detached (null) payload', () => {
    malformedCose(cose({ payload: null }), /the payload is not an attached byte string/);
  });

  it('rejects a signature that is not a byte string', () => {
    malformedCose(cose({ signature: null }), /the signature is not a byte string/);
  });

  for (const length of [95, 97]) {
    it(`rejects a signature of ${length} bytes`, () => {
      malformedCose(cose({ signature: new Uint8Array(length) }), new RegExp(`the signature is ${length} bytes long, not 96`));
    });
  }
});
