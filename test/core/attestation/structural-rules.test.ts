/**
 * One test per rule of the verifier: documents from a test CA (the same
 * generator the simulation server uses) where exactly that rule is broken and
 * everything else, the signature included, is valid.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AttestationError, InputError, trustedRootsFromPem, verifyAttestation, type TrustedRoot, type VerifyOptions } from '../../../src/core/index.js';
import { generateSigningKeys, issueCertificate, toPem } from '../../../src/server/attestation/certificates.js';
import { issueAttestationDocument, type DocumentContent, type EncodingOptions } from '../../../src/server/attestation/document.js';
import { createNitroChain, type NitroChain } from '../../../src/server/attestation/nitro-chain.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const PCR = (fill: number) => new Uint8Array(48).fill(fill);
const CONTENT: DocumentContent = {
  moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
  timestamp: NOW.getTime(),
  pcrs: new Map([0, 1, 2, 3, 4, 8].map((i) => [i, PCR(i + 1)])),
  publicKey: null,
  userData: new Uint8Array([1, 2, 3]),
  nonce: new Uint8Array(32).fill(7),
};

let chain: NitroChain;
let roots: TrustedRoot[];
/** A valid document of CONTENT from `chain`. */
let CONTENT_BYTES: Uint8Array;

function rootsOf(c: NitroChain): TrustedRoot[] {
  return trustedRootsFromPem(toPem(c.root.der), 'test root');
}

async function doc(options: EncodingOptions = {}, content: Partial<DocumentContent> = {}, signer: NitroChain = chain): Promise<Uint8Array> {
  return issueAttestationDocument({ ...CONTENT, ...content }, signer, options);
}

function verify(bytes: Uint8Array, options: VerifyOptions = {}, trusted: TrustedRoot[] = roots) {
  return verifyAttestation(bytes, { now: NOW, roots: trusted, ...options });
}

function rejects(bytes: Uint8Array, code: string, pattern?: RegExp, options: VerifyOptions = {}, trusted: TrustedRoot[] = roots): void {
  assert.throws(
    () => verify(bytes, options, trusted),
    (err: unknown) => {
      assert.ok(err instanceof AttestationError, `expected AttestationError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

before(async () => {
  chain = await createNitroChain(NOW);
  roots = rootsOf(chain);
  CONTENT_BYTES = await doc();
});

describe('documents from the test CA', () => {
  it('verify when nothing is broken (untagged, with explicit nulls, as the NSM emits)', async () => {
    const v = verify(await doc(), { expectedNonce: CONTENT.nonce!, expectedPcrs: { 0: Buffer.from(PCR(1)).toString('hex') }, maxAgeMs: 0 });
    assert.equal(v.moduleId, CONTENT.moduleId);
    assert.equal(v.tagged, false);
    assert.equal(v.userData, '010203');
    assert.equal(v.publicKey, null);
    assert.equal(v.root.isAwsNitroRoot, false);
  });

  it('verify when tagged with COSE_Sign1 tag 18', async () => {
    assert.equal(verify(await doc({ tagged: true })).tagged, true);
  });

  it('verify when optional fields are absent rather than null', async () => {
    const v = verify(await doc({ omitNullFields: true }, { nonce: null, userData: null }));
    assert.equal(v.nonce, null);
    assert.equal(v.userData, null);
  });

  it('are rejected as CHAIN_UNTRUSTED by default, since only the AWS root is trusted', async () => {
    assert.throws(() => verifyAttestation(CONTENT_BYTES, { now: NOW }), { code: 'CHAIN_UNTRUSTED' });
  });
});


describe('COSE rules', () => {
  it('UNSUPPORTED_ALGORITHM: protected header says ES256 (-7)', async () => {
    rejects(await doc({ protectedHeader: new Map([[1, -7]]) }), 'UNSUPPORTED_ALGORITHM', /-7/);
  });
  it('MALFORMED_COSE: protected header carries a crit parameter', async () => {
    rejects(await doc({ protectedHeader: new Map<number, unknown>([[1, -35], [2, [99]]]) }), 'MALFORMED_COSE', /parameter 2/);
  });
  it('MALFORMED_COSE: protected header names no algorithm', async () => {
    rejects(await doc({ protectedHeader: new Map([[4, 1]]) }), 'MALFORMED_COSE', /no algorithm/);
  });
});

describe('payload rules', () => {
  const cases: Array<[string, (p: Map<string, unknown>) => void, RegExp]> = [
    ['module_id missing', (p) => p.delete('module_id'), /module_id/],
    ['module_id empty', (p) => p.set('module_id', ''), /module_id/],
    ['module_id not text', (p) => p.set('module_id', 42), /module_id/],
    ['digest SHA256', (p) => p.set('digest', 'SHA256'), /digest/],
    ['timestamp zero', (p) => p.set('timestamp', 0), /timestamp/],
    ['timestamp negative', (p) => p.set('timestamp', -5), /timestamp/],
    ['timestamp as text', (p) => p.set('timestamp', '1700000000000'), /timestamp/],
    ['pcrs missing', (p) => p.delete('pcrs'), /pcrs/],
    ['pcrs empty', (p) => p.set('pcrs', new Map()), /pcrs/],
    ['33 PCRs', (p) => p.set('pcrs', new Map(Array.from({ length: 33 }, (_, i) => [i, PCR(1)]))), /pcrs/],
    ['PCR index 32', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(32, PCR(1)), /index 32/],
    ['PCR index negative', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(-1, PCR(1)), /index -1/],
    ['PCR index as text', (p) => (p.get('pcrs') as Map<unknown, Uint8Array>).set('5', PCR(1)), /index 5/],
    ['PCR of 47 bytes', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(5, new Uint8Array(47)), /PCR5/],
    ['PCR as text', (p) => (p.get('pcrs') as Map<number, unknown>).set(5, 'ab'.repeat(24)), /PCR5/],
    ['certificate missing', (p) => p.delete('certificate'), /certificate/],
    ['certificate of 1025 bytes', (p) => p.set('certificate', new Uint8Array(1025)), /certificate/],
    ['cabundle missing', (p) => p.delete('cabundle'), /cabundle/],
    ['cabundle null', (p) => p.set('cabundle', null), /cabundle/],
    ['cabundle empty', (p) => p.set('cabundle', []), /cabundle/],
    ['cabundle entry empty', (p) => (p.get('cabundle') as Uint8Array[]).push(new Uint8Array(0)), /cabundle\[4\]/],
    ['cabundle entry of 1025 bytes', (p) => (p.get('cabundle') as Uint8Array[]).push(new Uint8Array(1025)), /cabundle\[4\]/],
    ['public_key of 1025 bytes', (p) => p.set('public_key', new Uint8Array(1025)), /public_key/],
    ['user_data of 1025 bytes', (p) => p.set('user_data', new Uint8Array(1025)), /user_data/],
    ['nonce of 1025 bytes', (p) => p.set('nonce', new Uint8Array(1025)), /nonce/],
    ['nonce as text', (p) => p.set('nonce', 'abc'), /nonce/],
    ['an unknown field', (p) => p.set('extra', 1), /unknown field 'extra'/],
    ['every field missing', (p) => p.clear(), /module_id/],
  ];
  for (const [name, edit, pattern] of cases) {
    it(`MALFORMED_PAYLOAD: ${name}`, async () => {
      rejects(await doc({ editPayload: edit }), 'MALFORMED_PAYLOAD', pattern);
    });
  }
  it('accepts 1024-byte public_key, user_data and nonce', async () => {
    const max = new Uint8Array(1024).fill(1);
    const v = verify(await doc({}, { publicKey: max, userData: max, nonce: max }));
    assert.equal(v.publicKey!.length, 2048);
  });
  it('accepts 32- and 64-byte PCRs', async () => {
    const v = verify(await doc({}, { pcrs: new Map([[0, new Uint8Array(32)], [1, new Uint8Array(64)]]) }));
    assert.equal(v.pcrs[1]!.length, 128);
  });
});

describe('certificate chain rules', () => {
  async function brokenChain(overrides: Parameters<typeof createNitroChain>[1]): Promise<[Uint8Array, TrustedRoot[]]> {
    const c = await createNitroChain(NOW, overrides);
    return [await doc({}, {}, c), rootsOf(c)];
  }
  async function expectBroken(overrides: Parameters<typeof createNitroChain>[1], code: string, pattern: RegExp): Promise<void> {
    const [bytes, trusted] = await brokenChain(overrides);
    rejects(bytes, code, pattern, {}, trusted);
  }

  it('CHAIN_UNTRUSTED: cabundle[0] is not the trusted root (the bundle starts at the regional CA)', async () => {
    rejects(await doc({ editPayload: (p) => (p.get('cabundle') as Uint8Array[]).shift() }), 'CHAIN_UNTRUSTED', /not a trusted root/);
  });
  it('CHAIN_UNTRUSTED: intermediates out of order', async () => {
    const swap = (p: Map<string, unknown>) => {
      const b = p.get('cabundle') as Uint8Array[];
      [b[1], b[2]] = [b[2]!, b[1]!];
    };
    rejects(await doc({ editPayload: swap }), 'CHAIN_UNTRUSTED', /not issued by/);
  });
  it('CHAIN_UNTRUSTED: a certificate with the right issuer name but signed by another key', async () => {
    // An impostor zonal CA under the same names: same subject, same issuer name, different signing key.
    const other = await createNitroChain(NOW);
    const impostorRegional = { ...other.regional, spec: chain.regional.spec, keyIdentifier: chain.regional.keyIdentifier };
    const zonal = await issueCertificate(chain.zonal.spec, impostorRegional);
    const swapZonal = (p: Map<string, unknown>) => ((p.get('cabundle') as Uint8Array[])[2] = zonal.der);
    rejects(await doc({ editPayload: swapZonal }), 'CHAIN_UNTRUSTED', /does not verify with the key of its issuer/);
  });
  it('CERT_INVALID: an intermediate without basic constraints', () => expectBroken({ zonal: { basicConstraints: null } }, 'CERT_INVALID', /not marked as a CA/));
  it('CERT_INVALID: an intermediate with CA:FALSE', () => expectBroken({ zonal: { basicConstraints: { critical: true, ca: false } } }, 'CERT_INVALID', /not marked as a CA/));
  it('CERT_INVALID: an intermediate whose basic constraints are not critical', () => expectBroken({ regional: { basicConstraints: { critical: false, ca: true, pathLen: 2 } } }, 'CERT_INVALID', /not marked critical/));
  it('CERT_INVALID: an intermediate without keyCertSign', () => expectBroken({ instance: { keyUsage: { critical: true, usages: ['digitalSignature'] } } }, 'CERT_INVALID', /not allowed to sign certificates/));
  it('CERT_INVALID: an intermediate without key usage', () => expectBroken({ instance: { keyUsage: null } }, 'CERT_INVALID', /not allowed to sign certificates/));
  it('CERT_INVALID: a path length constraint exceeded', () => expectBroken({ regional: { basicConstraints: { critical: true, ca: true, pathLen: 1 } } }, 'CERT_INVALID', /allows 1 CA/));
  it('CERT_INVALID: the root limits the path length', () => expectBroken({ root: { basicConstraints: { critical: true, ca: true, pathLen: 0 } } }, 'CERT_INVALID', /allows 0 CA/));
  it('CERT_INVALID: the leaf is a CA', () => expectBroken({ leaf: { basicConstraints: { critical: true, ca: true } } }, 'CERT_INVALID', /is a CA certificate/));
  it('CERT_INVALID: the leaf may not sign', () => expectBroken({ leaf: { keyUsage: { critical: true, usages: ['keyCertSign'] } } }, 'CERT_INVALID', /digital signatures/));
  it('CERT_INVALID: a certificate signed with ecdsa-with-SHA256', () => expectBroken({ zonal: { signatureHash: 'SHA-256' } }, 'CERT_INVALID', /ecdsa-with-SHA384/));
  it('CERT_INVALID: an intermediate with a P-256 key', () => expectBroken({ instance: { curve: 'P-256' } }, 'CERT_INVALID', /P-384/));
  it('CERT_INVALID: an unknown critical extension', async () => {
    const ext = new pkijs.Extension({ extnID: '1.3.6.1.4.1.99999.1', critical: true, extnValue: new asn1js.Null().toBER(false) });
    await expectBroken({ instance: { extraExtensions: [ext] } }, 'CERT_INVALID', /critical extension 1\.3\.6\.1\.4\.1\.99999\.1/);
  });
  it('CERT_INVALID: an intermediate that repeats its basic constraints, word for word', async () => {
    // Both copies say the same, so only the rule against repeated extensions (RFC 5280 §4.2) refuses it.
    const again = new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 1 }).toSchema().toBER(false) });
    await expectBroken({ zonal: { extraExtensions: [again] } }, 'CERT_INVALID', /repeats the extension 2\.5\.29\.19/);
  });
  it('CERT_INVALID: an intermediate with a byte after its DER (OpenSSL alone would read the certificate and ignore it)', async () => {
    const trailing = (p: Map<string, unknown>) => {
      const bundle = p.get('cabundle') as Uint8Array[];
      bundle[2] = Buffer.concat([bundle[2]!, Buffer.from([0])]);
    };
    rejects(await doc({ editPayload: trailing }), 'CERT_INVALID', /cannot be parsed as X\.509 DER/);
  });
  it('CERT_INVALID: the leaf has a P-256 key', async () => {
    // The document cannot be ES384-signed by a P-256 key; the key check must come first and say why.
    const c = await createNitroChain(NOW, { leaf: { curve: 'P-256' } });
    const p384 = await generateSigningKeys('P-384');
    const bytes = await issueAttestationDocument(CONTENT, { leaf: { der: c.leaf.der, keys: p384 }, cabundle: c.cabundle });
    rejects(bytes, 'CERT_INVALID', /P-384/, {}, rootsOf(c));
  });
  it('CERT_INVALID: the leaf is not DER', async () => {
    rejects(await doc({ editPayload: (p) => p.set('certificate', new Uint8Array(600).fill(0x30)) }), 'CERT_INVALID', /cannot be parsed/);
  });
  it('CERT_EXPIRED: an intermediate expired before now', () =>
    expectBroken({ zonal: { notBefore: new Date(NOW.getTime() - 9e8), notAfter: new Date(NOW.getTime() - 1000) } }, 'CERT_EXPIRED', /zonal/));
  it('CERT_NOT_YET_VALID: an intermediate starts after now', () =>
    expectBroken({ instance: { notBefore: new Date(NOW.getTime() + 1000), notAfter: new Date(NOW.getTime() + 9e8) } }, 'CERT_NOT_YET_VALID', /i-0000/));
  it('SIGNATURE_INVALID: the document is signed by a key other than the leaf', async () => {
    const stranger = await generateSigningKeys('P-384');
    const bytes = await issueAttestationDocument(CONTENT, { leaf: { der: chain.leaf.der, keys: stranger }, cabundle: chain.cabundle });
    rejects(bytes, 'SIGNATURE_INVALID', /altered or forged/);
  });
  it('SIGNATURE_INVALID: one payload byte changed after signing', async () => {
    const bytes = Buffer.from(await doc());
    const at = bytes.indexOf(Buffer.from(CONTENT.moduleId));
    bytes[at] = bytes[at]! ^ 0x01;
    rejects(bytes, 'SIGNATURE_INVALID');
  });
});

describe('policy rules (after authenticity)', () => {
  it('NONCE_MISMATCH: another nonce, or none at all', async () => {
    rejects(CONTENT_BYTES, 'NONCE_MISMATCH', /different nonce/, { expectedNonce: new Uint8Array(32).fill(8) });
    rejects(await doc({}, { nonce: null }), 'NONCE_MISMATCH', /no nonce/, { expectedNonce: new Uint8Array(32).fill(7) });
  });
  it('STALE_DOCUMENT: older than the maximum age', () => {
    rejects(CONTENT_BYTES, 'STALE_DOCUMENT', /more than the 60 s allowed/, { now: new Date(NOW.getTime() + 61_000), maxAgeMs: 60_000 });
    assert.ok(verify(CONTENT_BYTES, { now: new Date(NOW.getTime() + 60_000), maxAgeMs: 60_000 }));
  });
  it('STALE_DOCUMENT: dated more than the allowed skew in the future', async () => {
    const future = await doc({}, { timestamp: NOW.getTime() + 120_000 });
    rejects(future, 'STALE_DOCUMENT', /after the verification time/);
    assert.ok(verify(future, { maxFutureSkewMs: 180_000 }));
    assert.ok(verify(await doc({}, { timestamp: NOW.getTime() + 30_000 })));
  });
  it('PCR_MISMATCH: wrong value and missing index are both mismatches', () => {
    rejects(CONTENT_BYTES, 'PCR_MISMATCH', /PCR0 differs from the policy from digit 2 on: the enclave has 0\[1\]01010101…, the policy expects 0\[2\]02020202…/, { expectedPcrs: { 0: '02'.repeat(48) } });
    rejects(CONTENT_BYTES, 'PCR_MISMATCH', /PCR7 is required/, { expectedPcrs: { 7: '02'.repeat(48) } });
  });
  it('PCR_MISMATCH: two values alike up to late digits are cut at the first difference, marked, and carried in full with the root', () => {
    const actual = verify(CONTENT_BYTES).pcrs[0]!;
    const expected = actual.slice(0, 40) + (actual[40] === 'a' ? 'b' : 'a') + actual.slice(41);
    assert.throws(
      () => verify(CONTENT_BYTES, { expectedPcrs: { 0: expected } }),
      (err: unknown) => {
        assert.ok(err instanceof AttestationError && err.code === 'PCR_MISMATCH');
        assert.equal(err.message, `PCR0 differs from the policy from digit 41 on: the enclave has …${actual.slice(32, 40)}[${actual[40]}]${actual.slice(41, 49)}…, the policy expects …${expected.slice(32, 40)}[${expected[40]}]${expected.slice(41, 49)}….`);
        assert.deepEqual(err.pcr, { index: 0, actual, expected });
        assert.deepEqual(err.chainRoot, { label: 'test root', simulation: true });
        return true;
      },
    );
    assert.throws(() => verify(CONTENT_BYTES, { expectedNonce: '01'.repeat(16) }), (err: unknown) => err instanceof AttestationError && err.code === 'NONCE_MISMATCH' && err.chainRoot?.simulation === true);
  });
  it('a malformed policy is the caller’s error (InputError), not an attestation verdict', () => {
    const input = (code: string) => (err: unknown) => err instanceof InputError && !(err instanceof AttestationError) && err.code === code;
    assert.throws(() => verify(CONTENT_BYTES, { expectedPcrs: { 0: 'xyz' } }), input('INVALID_PCR'));
    assert.throws(() => verify(CONTENT_BYTES, { expectedPcrs: { 40: '00'.repeat(48) } }), input('INVALID_PCR'));
    assert.throws(() => verify(CONTENT_BYTES, { expectedPcrs: { 0: '00'.repeat(47) } }), input('INVALID_PCR'));
    assert.throws(() => verify(CONTENT_BYTES, { expectedNonce: 'abc' }), input('INVALID_HEX'));
    assert.throws(() => verify(CONTENT_BYTES, { now: new Date(NaN) }), input('INVALID_OPTION'));
    assert.throws(() => verify(CONTENT_BYTES, { roots: [] }), input('INVALID_OPTION'));
  });
});
