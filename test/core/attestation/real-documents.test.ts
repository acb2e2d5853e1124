/** The verifier on documents produced by real AWS Nitro enclaves (test/fixtures/nitro, see README there). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AWS_NITRO_ROOT_G1, AWS_NITRO_ROOT_G1_SHA256, AttestationError, sha256Hex, trustedRootsFromPem, verifyAttestation } from '../../../src/core/index.js';
import { loadNegativeDocuments, loadRealDocuments, NITRO_DIR, ROOT_PEM_PATH } from '../../../support/fixtures.js';

const docs = loadRealDocuments();

function rejects(fn: () => unknown, code: string): AttestationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AttestationError, `expected AttestationError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it verified`);
}

describe('embedded AWS Nitro Enclaves Root G1', () => {
  it('is the published certificate, byte for byte the fixture from AWS', () => {
    assert.equal(AWS_NITRO_ROOT_G1.sha256, AWS_NITRO_ROOT_G1_SHA256.replaceAll(':', '').toLowerCase());
    const [fromFixture] = trustedRootsFromPem(readFileSync(ROOT_PEM_PATH, 'utf8'), 'fixture');
    assert.equal(fromFixture!.sha256, AWS_NITRO_ROOT_G1.sha256);
    assert.equal(fromFixture!.isAwsNitroRoot, true);
  });
});

describe('real Nitro attestation documents', () => {
  assert.ok(docs.length >= 9, 'all nine real documents are in the fixtures');

  for (const doc of docs) {
    describe(doc.name, () => {
      it('verifies at its own timestamp, with the PCRs of its provenance note', () => {
        const v = verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), expectedPcrs: doc.pcrs, maxAgeMs: 0 });
        assert.equal(v.timestamp, doc.timestampMs);
        assert.equal(v.digest, 'SHA384');
        for (const [index, hex] of Object.entries(doc.pcrs)) assert.equal(v.pcrs[Number(index)], hex);
        assert.equal(v.chain.length, 5);
        assert.equal(v.chain[0]!.sha256, AWS_NITRO_ROOT_G1.sha256);
        assert.equal(v.root.isAwsNitroRoot, true);
        assert.equal(v.chain.at(-1)!.notAfter, doc.leafNotAfter.toISOString());
        assert.equal(v.documentSha256, sha256Hex(doc.bytes));
        if (doc.nonce) {
          assert.equal(v.nonce!.length / 2, doc.nonce.bytes);
          assert.ok(v.nonce!.startsWith(doc.nonce.hexPrefix));
        } else {
          assert.equal(v.nonce, null);
        }
        assert.ok(Object.isFrozen(v) && Object.isFrozen(v.pcrs) && Object.isFrozen(v.chain));
      });

      it('is rejected as CERT_EXPIRED today, and one second after its leaf expired', () => {
        rejects(() => verifyAttestation(doc.bytes), 'CERT_EXPIRED');
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.leafNotAfter.getTime() + 1000) }), 'CERT_EXPIRED');
      });

      it('is rejected as CERT_NOT_YET_VALID one second before its leaf was issued', () => {
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.leafNotBefore.getTime() - 1000) }), 'CERT_NOT_YET_VALID');
      });

      it('is rejected as STALE_DOCUMENT when older than the maximum age, or read too long before its timestamp', () => {
        const leafStillValid = Math.min(doc.leafNotAfter.getTime(), doc.timestampMs + 3_600_000);
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(leafStillValid), maxAgeMs: leafStillValid - doc.timestampMs - 1 }), 'STALE_DOCUMENT');
        if (doc.timestampMs - doc.leafNotBefore.getTime() > 61_000) {
          rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs - 61_000) }), 'STALE_DOCUMENT');
        }
      });

      it('is rejected as CHAIN_UNTRUSTED when only another root is trusted', () => {
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), roots: [unrelatedRoot()] }), 'CHAIN_UNTRUSTED');
      });

      it('is rejected as PCR_MISMATCH when the policy expects another PCR0, or a PCR it does not have', () => {
        const wrong = doc.pcrs[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), expectedPcrs: { 0: wrong } }), 'PCR_MISMATCH');
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), expectedPcrs: { 31: '00'.repeat(48) } }), 'PCR_MISMATCH');
      });

      it('is rejected as NONCE_MISMATCH for a nonce it was not issued for', () => {
        rejects(() => verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), expectedNonce: 'ab'.repeat(32) }), 'NONCE_MISMATCH');
      });
    });
  }

  it('debug-mode documents fail a production PCR policy', () => {
    const production = docs.find((d) => !d.debugMode)!;
    const debug = docs.filter((d) => d.debugMode);
    assert.deepEqual(debug.map((d) => d.name), ['real_2', 'real_3', 'real_5', 'real_7']);
    const policy = { 0: production.pcrs[0]!, 1: production.pcrs[1]!, 2: production.pcrs[2]! };
    for (const d of debug) {
      const err = rejects(() => verifyAttestation(d.bytes, { now: new Date(d.timestampMs), expectedPcrs: policy }), 'PCR_MISMATCH');
      assert.match(err.message, /debug mode/);
    }
  });

  it('accepts the nonce a document was issued for (real_9, 32-byte nonce in full)', () => {
    const doc = docs.find((d) => d.name === 'real_9')!;
    const v = verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs), expectedNonce: doc.nonce!.hexPrefix });
    assert.equal(v.nonce, doc.nonce!.hexPrefix);
  });

  it('accepts 1024-byte nonce, user_data and public_key (real NSM maximum)', () => {
    const doc = docs.find((d) => d.name === 'real_1')!;
    const v = verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs) });
    assert.equal(v.nonce!.length, 2048);
    assert.equal(v.userData!.length, 2048);
    assert.equal(v.publicKey!.length, 2048);
  });

  it('accepts the indefinite-length payload map of newer NSM firmware (real_8)', () => {
    const doc = docs.find((d) => d.name === 'real_8')!;
    assert.ok(doc.bytes.includes(0xbf), 'real_8 holds an indefinite-length map header');
    assert.equal(verifyAttestation(doc.bytes, { now: new Date(doc.timestampMs) }).moduleId, 'i-0368fa67e156d6d23-enc019b8596b1a9dad6');
  });
});

describe('negative documents from real projects', () => {
  const expected: Record<string, string> = {
    'neg_1_blocky_selfsigned.cbor': 'MALFORMED_COSE',
    'neg_2_veracruz_bad_sig.cbor': 'SIGNATURE_INVALID',
    'neg_3_base_fixture_truncated_public_key_label.cbor': 'MALFORMED_CBOR',
  };
  for (const neg of loadNegativeDocuments()) {
    it(`${neg.name} is rejected with ${expected[neg.name]}`, () => {
      assert.ok(expected[neg.name], 'every negative fixture has an expected code');
      // neg_2 is real_9 with one signature byte changed: check it at real_9's time so only the signature is wrong.
      rejects(() => verifyAttestation(neg.bytes, { now: new Date(1668034320696) }), expected[neg.name]!);
    });
  }
});

/** A trust anchor that is a real certificate (real_3's TLS certificate), but not the root these documents chain to. */
function unrelatedRoot(): { der: Uint8Array; sha256: string; label: string; isAwsNitroRoot: boolean } {
  const der = new Uint8Array(readFileSync(NITRO_DIR + 'real_3_tls_cert.der'));
  return { der, sha256: sha256Hex(der), label: 'unrelated', isAwsNitroRoot: false };
}
