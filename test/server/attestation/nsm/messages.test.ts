/** The NSM's CBOR messages: byte for byte what serde_cbor writes for aws-nitro-enclaves-nsm-api's Request, and its Responses read back. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Encoder } from 'cbor-x';
import { NSM_ERROR_CODES, NsmError, type NsmErrorCode } from '../../../../src/server/attestation/nsm/errors.js';
import {
  decodeNsmResponse,
  encodeNsmRequest,
  parseAttestation,
  parseDescribeNsm,
  parseDescribePcr,
  parseExtendPcr,
  parseUnit,
  type NsmRequest,
} from '../../../../src/server/attestation/nsm/messages.js';

/** CBOR text string head + UTF-8 (all names here are under 24 bytes). */
const text = (s: string) => Buffer.concat([Buffer.from([0x60 + s.length]), Buffer.from(s)]).toString('hex');
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });
const cbor = (v: unknown) => encoder.encode(v);

describe('NSM requests', () => {
  // Each expectation written out from serde's externally tagged enum rules, not produced by the code under test.
  const cases: [NsmRequest, string][] = [
    [{ kind: 'DescribeNSM' }, text('DescribeNSM')],
    [{ kind: 'GetRandom' }, text('GetRandom')],
    [{ kind: 'DescribePCR', index: 16 }, `a1${text('DescribePCR')}a1${text('index')}10`],
    [{ kind: 'ExtendPCR', index: 16, data: new Uint8Array([1, 2, 3]) }, `a1${text('ExtendPCR')}a2${text('index')}10${text('data')}43010203`],
    [{ kind: 'LockPCR', index: 31 }, `a1${text('LockPCR')}a1${text('index')}181f`],
    [{ kind: 'LockPCRs', range: 16 }, `a1${text('LockPCRs')}a1${text('range')}10`],
    [
      { kind: 'Attestation', userData: new Uint8Array([0xaa]), nonce: null, publicKey: new Uint8Array([0xbb, 0xcc]) },
      `a1${text('Attestation')}a3${text('user_data')}41aa${text('nonce')}f6${text('public_key')}42bbcc`,
    ],
  ];
  for (const [request, hex] of cases) {
    it(`encodes ${request.kind} as serde_cbor does`, () => assert.equal(Buffer.from(encodeNsmRequest(request)).toString('hex'), hex));
  }

  it('refuses a request over the driver\'s 4096 bytes before it reaches the device (NSM_INPUT_TOO_LARGE)', () => {
    const big = new Uint8Array(4096);
    assert.throws(() => encodeNsmRequest({ kind: 'Attestation', userData: big, nonce: null, publicKey: null }), (e) => e instanceof NsmError && e.code === 'NSM_INPUT_TOO_LARGE');
  });
});

describe('NSM responses', () => {
  it('reads DescribePCR, ExtendPCR, Attestation, DescribeNSM and the bare LockPCR', () => {
    const data = new Uint8Array(48).fill(7);
    assert.deepEqual(parseDescribePcr(decodeNsmResponse(cbor(new Map([['DescribePCR', new Map<string, unknown>([['lock', true], ['data', data]])]])), 'DescribePCR')), { lock: true, data });
    assert.deepEqual(parseExtendPcr(decodeNsmResponse(cbor(new Map([['ExtendPCR', new Map([['data', data]])]])), 'ExtendPCR')), data);
    assert.deepEqual(parseAttestation(decodeNsmResponse(cbor(new Map([['Attestation', new Map([['document', data]])]])), 'Attestation')), data);
    const nsm = new Map<string, unknown>([
      ['version_major', 1], ['version_minor', 2], ['version_patch', 3], ['module_id', 'i-1-enc2'], ['max_pcrs', 32], ['locked_pcrs', [0, 1, 16]], ['digest', 'SHA384'],
    ]);
    assert.deepEqual(parseDescribeNsm(decodeNsmResponse(cbor(new Map([['DescribeNSM', nsm]])), 'DescribeNSM')), {
      versionMajor: 1, versionMinor: 2, versionPatch: 3, moduleId: 'i-1-enc2', maxPcrs: 32, lockedPcrs: [0, 1, 16], digest: 'SHA384',
    });
    assert.equal(decodeNsmResponse(cbor('LockPCR'), 'LockPCR'), null);
  });

  it('throws every NSM ErrorCode as its own typed NsmError', () => {
    const codes = {
      Success: 'NSM_SUCCESS_AS_ERROR', InvalidArgument: 'NSM_INVALID_ARGUMENT', InvalidIndex: 'NSM_INVALID_INDEX', InvalidResponse: 'NSM_INVALID_RESPONSE',
      ReadOnlyIndex: 'NSM_READ_ONLY_INDEX', InvalidOperation: 'NSM_INVALID_OPERATION', BufferTooSmall: 'NSM_BUFFER_TOO_SMALL', InputTooLarge: 'NSM_INPUT_TOO_LARGE',
      InternalError: 'NSM_INTERNAL_ERROR',
    };
    for (const [name, code] of Object.entries(codes)) {
      assert.throws(() => decodeNsmResponse(cbor(new Map([['Error', name]])), 'ExtendPCR'), (e) => e instanceof NsmError && e.code === code && e.message.includes(name), name);
    }
  });

  it('calls anything else malformed: not CBOR, trailing bytes, another variant, unknown error, missing or mistyped fields, fields on a unit answer', () => {
    const malformed = (bytes: Uint8Array, kind: NsmRequest['kind'], parse: (b: Map<unknown, unknown> | null) => unknown = (b) => b) =>
      assert.throws(() => parse(decodeNsmResponse(bytes, kind)), (e) => e instanceof NsmError && e.code === 'NSM_MALFORMED_RESPONSE', Buffer.from(bytes).toString('hex'));
    malformed(new Uint8Array(0), 'GetRandom');
    malformed(new Uint8Array([0xff, 0x00]), 'GetRandom');
    malformed(Buffer.concat([cbor('LockPCR'), Buffer.from([0])]), 'LockPCR');
    malformed(cbor(new Map([['GetRandom', new Map([['random', new Uint8Array(8)]])]])), 'Attestation');
    malformed(cbor(new Map([['Error', 'NoSuchCode']])), 'DescribePCR');
    // An inherited property name is no ErrorCode either (it once became the error's code: a function).
    for (const name of ['constructor', 'toString', '__proto__']) malformed(cbor(new Map([['Error', name]])), 'DescribePCR');
    malformed(cbor(new Map([['Error', 3]])), 'DescribePCR');
    malformed(cbor([1, 2]), 'DescribePCR');
    malformed(cbor(new Map([['DescribePCR', new Map([['lock', true]])]])), 'DescribePCR', parseDescribePcr);
    malformed(cbor(new Map([['DescribePCR', new Map<string, unknown>([['lock', 'yes'], ['data', new Uint8Array(48)]])]])), 'DescribePCR', parseDescribePcr);
    malformed(cbor(new Map([['Attestation', new Map([['document', 'not bytes']])]])), 'Attestation', parseAttestation);
    malformed(cbor(new Map([['LockPCR', new Map()]])), 'LockPCR', (b) => parseUnit(b, 'LockPCR'));
    malformed(cbor(new Map([['DescribeNSM', new Map([['digest', 'MD5']])]])), 'DescribeNSM', parseDescribeNsm);
  });
});

describe('every NsmError code', () => {
  for (const [code, clause] of Object.entries(NSM_ERROR_CODES)) {
    it(code, () => {
      const err = new NsmError(code as NsmErrorCode);
      assert.ok(err instanceof NsmError && err instanceof Error);
      assert.equal(err.name, 'NsmError');
      assert.equal(err.code, code);
      assert.equal(err.message, clause);
      assert.match(clause, /^[a-z][^\n]*[^.]$/, 'a default message is one clause, as `serve` prints it after the code');
    });
  }
});
