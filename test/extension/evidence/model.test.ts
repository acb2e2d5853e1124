import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyAttestation } from '../../../src/core/index.js';
import { buildEvidence, evidenceFileName, EVIDENCE_FORMAT } from '../../../src/extension/evidence/model.js';
import { liveSimulationSession } from '../../../support/servers.js';
import { policy, realAttested, verified } from '../helpers.js';

describe('attestation evidence', () => {
  it('holds the raw document, verdict, policy, verification time and presented certificate', () => {
    const { attested, verifiedAt, doc } = realAttested();
    const e = buildEvidence(verified('https://e.example', attested, policy({ 0: doc.pcrs[0]! }, 'prod')), new Date(verifiedAt + 1000));
    assert.equal(e.format, EVIDENCE_FORMAT);
    assert.deepEqual(e.verdict, { ok: true, simulation: false, code: null, message: null, serverSaid: null });
    assert.equal(e.verifiedAt, new Date(verifiedAt).toISOString());
    assert.equal(e.exportedAt, new Date(verifiedAt + 1000).toISOString());
    assert.deepEqual(e.policy, { name: 'prod', source: 'test', pcrs: { 0: doc.pcrs[0] }, maxAgeSeconds: 600 });
    assert.equal(e.attestation!.moduleId, doc.moduleId);
    assert.equal(e.attestation!.documentSha256, doc.documentSha256);
    assert.equal(e.attestation!.root.isAwsNitroRoot, true);
    // Anyone can check the document again from the file alone.
    const again = verifyAttestation(Buffer.from(e.document!, 'base64'), { now: new Date(verifiedAt) });
    assert.equal(again.documentSha256, doc.documentSha256);
    const cert = new X509Certificate(e.presentedCertificate!.pem);
    assert.equal(cert.fingerprint256.replaceAll(':', '').toLowerCase(), e.presentedCertificate!.sha256);
    assert.equal(e.diagnosticOnly, false);
    assert.deepEqual(JSON.parse(JSON.stringify(e)), e);
  });

  it('records a failure with its code; no document unless one was fetched for diagnosis', () => {
    const failure = { code: 'CHAIN_UNTRUSTED', message: 'not trusted', untrusted: true };
    const e = buildEvidence({ kind: 'failed', server: 'https://e.example', policy: policy(), failure, at: 0 }, new Date(0));
    assert.deepEqual(e.verdict, { ok: false, simulation: false, code: 'CHAIN_UNTRUSTED', message: 'not trusted', serverSaid: null });
    assert.equal(e.document, null);
    assert.equal(e.attestation, null);
    assert.equal(e.verifiedAt, null);
    const { attested } = realAttested();
    const diag = buildEvidence({ kind: 'failed', server: 'https://e.example', policy: policy(), failure: { ...failure, code: 'PCR_MISMATCH' }, at: 0, observed: attested }, new Date(0));
    assert.equal(diag.diagnosticOnly, true);
    assert.equal(diag.verdict.ok, false);
    assert.ok(diag.document);
  });

  it('suggests a safe file name', () => {
    assert.equal(evidenceFileName('https://enclave.example:8443', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), 'blindbox-evidence-enclave.example_8443-2026-01-02T03-04-05Z.json');
    assert.equal(evidenceFileName(null, new Date(0)), 'blindbox-evidence-server-1970-01-01T00-00-00Z.json');
  });

  describe('from a live simulation session', () => {
    const live = liveSimulationSession();

    it('says simulation, and carries the raw document and the TLS binding as the session checked it', () => {
      const e = buildEvidence(verified(live.server.url, live.session.attested), new Date());
      assert.equal(e.verdict.simulation, true);
      assert.equal(e.attestation!.root.isAwsNitroRoot, false);
      assert.equal(e.document, Buffer.from(live.session.attested.document).toString('base64'));
      assert.deepEqual(e.tlsBinding, live.session.attested.binding);
      assert.equal(e.presentedCertificate!.sha256, live.session.attested.binding.presentedCertificateSha256);
      assert.equal(e.enclaves.length, 1);
      assert.deepEqual(e.enclaves[0]!.tlsBinding, e.tlsBinding);
    });
  });

  it('carries every attested enclave of a fleet, each checkable on its own', () => {
    const { attested, verifiedAt, doc } = realAttested();
    const older = { ...attested, attestation: { ...attested.attestation, verifiedAt: verifiedAt - 5000 }, binding: { ...attested.binding, presentedSpkiSha256: 'ab'.repeat(32) } };
    const state = { ...verified('https://fleet.example', attested), enclaves: [attested, older] } as const;
    const e = buildEvidence(state, new Date(verifiedAt + 1000));
    assert.deepEqual(e.enclaves.map((x) => x.verifiedAt), [new Date(verifiedAt).toISOString(), new Date(verifiedAt - 5000).toISOString()]);
    assert.deepEqual(e.enclaves.map((x) => x.tlsBinding.presentedSpkiSha256), [attested.binding.presentedSpkiSha256, 'ab'.repeat(32)]);
    for (const x of e.enclaves) assert.equal(verifyAttestation(Buffer.from(x.document, 'base64'), { now: new Date(verifiedAt) }).documentSha256, doc.documentSha256);
    assert.deepEqual({ attestation: e.attestation, document: e.document, tlsBinding: e.tlsBinding }, { attestation: e.enclaves[0]!.attestation, document: e.enclaves[0]!.document, tlsBinding: e.enclaves[0]!.tlsBinding });
  });
});
