import assert from 'node:assert/strict';
import { createHash, type X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { toHex } from '../../../../src/core/index.js';
import type { TrustState } from '../../../../src/extension/trust/trust-state.js';
import { attestationViewModel, relativeAge } from '../../../../src/extension/views/attestation/model.js';
import { liveSimulationSession } from '../../../../support/servers.js';
import { policy, realAttested, verified } from '../../helpers.js';

const SERVER = 'https://enclave.example:8443';

describe('attestation view model: a real Nitro document', () => {
  const { attested, verifiedAt, doc } = realAttested();

  it('shows a verified AWS enclave: verdict, module, document time, nonce, PCRs against the policy, chain root → leaf', () => {
    const pol = policy({ 0: doc.pcrs[0]!, 1: doc.pcrs[1]!.toUpperCase() }, 'production');
    const m = attestationViewModel(verified(SERVER, attested, pol), new Date(verifiedAt + 90_000));
    assert.equal(m.state, 'verified');
    assert.equal(m.server, SERVER);
    assert.equal(m.verdict.ok, true);
    assert.match(m.verdict.title, /genuine AWS Nitro enclave/);
    assert.equal(m.simulationBanner, null);
    assert.equal(m.document!.moduleId, doc.moduleId);
    assert.equal(m.document!.timestamp, new Date(doc.timestamp).toISOString());
    assert.equal(m.document!.age, '1 min old');
    assert.equal(m.document!.nonce, doc.nonce ?? '(none)');
    assert.equal(m.document!.root, 'AWS Nitro Enclaves Root G1');
    assert.equal(m.policy!.name, 'production');
    assert.equal(m.policy!.pinned, 2);
    assert.equal(m.policy!.note, null);

    assert.deepEqual(
      m.pcrs.map((r) => r.index),
      Object.keys(doc.pcrs).map(Number),
    );
    assert.deepEqual(m.pcrs.find((r) => r.index === 0), { index: 0, value: doc.pcrs[0], expected: doc.pcrs[0], status: 'match', statusText: 'match', zero: true, folded: false, diffAt: null });
    assert.equal(m.pcrs.find((r) => r.index === 1)!.status, 'match', 'policy hex is compared case-insensitively');
    assert.equal(m.pcrs.find((r) => r.index === 2)!.status, 'not-in-policy');

    assert.equal(m.chain.length, doc.chain.length);
    assert.equal(m.chain[0]!.role, 'root');
    assert.equal(m.chain[0]!.subject, doc.chain[0]!.subject);
    assert.equal(m.chain.at(-1)!.role, 'leaf');
    assert.ok(m.chain.slice(1, -1).every((c) => c.role === 'intermediate'));
    assert.ok(m.chain.every((c) => c.validity === 'valid'), 'valid at the document time');
    assert.equal(m.chain[0]!.sha256, doc.chain[0]!.sha256);
    assert.equal(m.chain.at(-1)!.keyAlgorithm, doc.chain.at(-1)!.keyAlgorithm);
    assert.equal(m.canExport, true);
  });

  it('shows the TLS binding exactly as the enclave value carries it (the view derives nothing)', () => {
    const m = attestationViewModel(verified(SERVER, attested), new Date(verifiedAt));
    assert.deepEqual(m.tls, {
      bound: true,
      text: 'Bound: the TLS key of this connection is the key the enclave attested (public_key), so the channel ends inside the enclave.',
      attestedKeySha256: attested.binding.attestedKeySha256,
      presentedKeySha256: attested.binding.presentedSpkiSha256,
      presentedCertificateSha256: attested.binding.presentedCertificateSha256,
    });
  });

  it('marks certificates expired (today) and says when a policy pins nothing', () => {
    const m = attestationViewModel(verified(SERVER, attested), new Date('2030-01-01T00:00:00Z'));
    const leaf = m.chain.at(-1)!;
    assert.equal(leaf.validity, 'expired');
    assert.match(leaf.validityText, /^EXPIRED \(since /);
    assert.match(m.policy!.note!, /pins no PCR/);
    const early = attestationViewModel(verified(SERVER, attested), new Date('2000-01-01T00:00:00Z'));
    assert.ok(early.chain.every((c) => c.validity === 'not-yet-valid'));
  });

  it('shows a failure with its code and sentence; with the diagnostic document, the mismatching PCR', () => {
    const failure = { code: 'PCR_MISMATCH', message: 'PCR0 is 0000…, but the policy expects abab….', untrusted: true };
    const bare = attestationViewModel({ kind: 'failed', server: SERVER, policy: policy({ 0: 'ab'.repeat(48) }), failure, at: verifiedAt }, new Date(verifiedAt));
    assert.equal(bare.state, 'failed');
    assert.deepEqual(bare.verdict, { ok: false, title: 'Verification FAILED', code: 'PCR_MISMATCH', sentence: failure.message, serverSaid: null });
    assert.equal(bare.document, null);
    assert.deepEqual(bare.pcrs, []);
    assert.deepEqual(bare.chain, []);

    const withDoc = attestationViewModel({ kind: 'failed', server: SERVER, policy: policy({ 0: 'ab'.repeat(48), 20: 'cd'.repeat(48) }), failure, at: verifiedAt, observed: attested }, new Date(verifiedAt));
    assert.equal(withDoc.verdict.ok, false);
    assert.equal(withDoc.document!.diagnosticOnly, true);
    assert.equal(withDoc.pcrs.find((r) => r.index === 0)!.status, 'mismatch');
    assert.equal(withDoc.pcrs.find((r) => r.index === 0)!.statusText, 'MISMATCH');
    assert.deepEqual(withDoc.pcrs.at(-1), { index: 20, value: '', expected: 'cd'.repeat(48), status: 'missing', statusText: 'missing', zero: false, folded: false, diffAt: null });
  });

  it('keeps hostile certificate text as plain strings (the webview renders them with textContent)', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const chain = attested.attestation.chain.map((c, i) => (i === 0 ? { ...c, subject: evil, issuer: `"><script>alert(2)</script>` } : c));
    const hostile = { ...attested, attestation: { ...attested.attestation, chain, moduleId: '<b>module</b>' } };
    const m = attestationViewModel(verified(SERVER, hostile), new Date(verifiedAt));
    assert.equal(m.chain[0]!.subject, evil);
    assert.equal(m.chain[0]!.issuer, `"><script>alert(2)</script>`);
    assert.equal(m.document!.moduleId, '<b>module</b>');
    // A model is data: it survives JSON (postMessage) unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(m)), m);
  });

  const states = (m: ReturnType<typeof attestationViewModel>) => m.checks.map((c) => `${c.id}:${c.state}`);

  it('leads with the three checks: genuine hardware, expected code, channel bound', () => {
    const m = attestationViewModel(verified(SERVER, attested, policy({ 0: doc.pcrs[0]! }, 'prod')), new Date(verifiedAt + 3 * 60_000));
    assert.deepEqual(states(m), ['hardware:pass', 'code:pass', 'channel:pass']);
    assert.deepEqual(m.checks.map((c) => [c.title, c.stateText]), [['Genuine hardware', 'Passed'], ['Expected code', 'Passed'], ['Channel bound', 'Passed']]);
    assert.match(m.checks[0]!.summary, /AWS Nitro Enclaves Root G1/);
    assert.ok(m.checks[0]!.facts.some((f) => /^Nonce: /.test(f)));
    assert.match(m.checks[1]!.summary, /“prod”/);
    assert.deepEqual(m.when, { verb: 'verified', at: verifiedAt, utc: new Date(verifiedAt).toISOString(), relative: '3 min ago' });
  });

  it('warns, not passes, when no PCR is pinned, and folds away every PCR the policy does not name', () => {
    const m = attestationViewModel(verified(SERVER, attested, policy({}, 'open')), new Date(verifiedAt));
    assert.deepEqual(states(m), ['hardware:pass', 'code:warn', 'channel:pass']);
    assert.match(m.checks[1]!.summary, /no PCR pinned: any code is accepted/);
    assert.ok(m.pcrs.every((r) => r.folded));
    assert.ok(m.pcrs.some((r) => r.zero) && m.pcrs.some((r) => !r.zero));
  });

  it('lists every enclave of the state, each with its own module, PCR0, key and age', () => {
    const second = { ...attested, attestation: { ...attested.attestation, moduleId: 'i-second-enc', verifiedAt: verifiedAt - 120_000 }, binding: { ...attested.binding, attestedKeySha256: 'ee'.repeat(32) } };
    const state: TrustState = { kind: 'verified', server: SERVER, policy: policy({ 0: doc.pcrs[0]! }), enclaves: [attested, second] };
    const m = attestationViewModel(state, new Date(verifiedAt));
    assert.deepEqual(m.enclaves.map((e) => [e.moduleId, e.keyPrefix, e.verified.relative]), [
      [doc.moduleId, `${attested.binding.attestedKeySha256.slice(0, 16)}…`, 'just now'],
      ['i-second-enc', 'eeeeeeeeeeeeeeee…', '2 min ago'],
    ]);
    assert.equal(m.enclaves[0]!.pcr0Prefix, `${doc.pcrs[0]!.slice(0, 16)}…`);
    // Trust is as old as its oldest proof.
    assert.equal(m.when!.relative, '2 min ago');
    assert.match(m.checks[2]!.summary, /all 2 enclaves/);
  });

  it('files a failure under the check that refused it; earlier checks passed, later ones were not reached', () => {
    const failed = (code: string): TrustState => ({ kind: 'failed', server: SERVER, policy: policy(), failure: { code, message: 'x.', untrusted: true }, at: verifiedAt });
    assert.deepEqual(states(attestationViewModel(failed('CHAIN_UNTRUSTED'), new Date(verifiedAt))), ['hardware:fail', 'code:unknown', 'channel:unknown']);
    // Checked before the refusal, but a refusal that does not name its root claims no genuine hardware.
    assert.deepEqual(states(attestationViewModel(failed('PCR_MISMATCH'), new Date(verifiedAt))), ['hardware:unknown', 'code:fail', 'channel:unknown']);
    assert.deepEqual(states(attestationViewModel(failed('TLS_BINDING_MISMATCH'), new Date(verifiedAt))), ['hardware:unknown', 'code:warn', 'channel:fail']);
    assert.deepEqual(states(attestationViewModel(failed('SERVER_UNREACHABLE'), new Date(verifiedAt))), ['hardware:unknown', 'code:unknown', 'channel:unknown']);
    assert.equal(attestationViewModel(failed('TIMEOUT'), new Date(verifiedAt + 5000)).when!.relative, '5 s ago');
  });

  it('says ages as people do', () => {
    assert.deepEqual([0, 4_000, 42_000, 180_000, 7_500_000, -3000].map(relativeAge), ['just now', 'just now', '42 s ago', '3 min ago', '2 h 5 min ago', 'just now']);
  });

  it('has a state for every phase before a result', () => {
    const states: TrustState[] = [{ kind: 'unconfigured' }, { kind: 'unverified', server: SERVER }, { kind: 'verifying', server: SERVER }];
    assert.deepEqual(
      states.map((r) => attestationViewModel(r, new Date(0))).map((m) => [m.state, m.server, m.canExport, m.canVerify]),
      [
        ['unconfigured', null, false, false],
        ['unverified', SERVER, false, true],
        ['verifying', SERVER, false, false],
      ],
    );
  });
});

describe('attestation view model: the simulation server', () => {
  const live = liveSimulationSession();

  it('is loud about simulation, shows the attested service and binds TLS', async () => {
    const pcr0 = toHex(live.server.provider.pcrs.get(0)!);
    const m = attestationViewModel(verified(live.server.url, live.session.attested, policy({ 0: pcr0 })), new Date());
    assert.equal(m.state, 'simulation');
    assert.match(m.simulationBanner!, /^SIMULATION — NOT CONFIDENTIAL/);
    assert.match(m.verdict.title, /SIMULATION/);
    assert.deepEqual(m.checks.map((c) => c.state), ['warn', 'pass', 'pass']);
    assert.match(m.checks[0]!.summary, /^SIMULATION: .*not AWS Nitro Enclaves Root G1/);
    assert.equal(m.enclaves[0]!.simulation, true);
    assert.deepEqual(m.service, { service: 'blindbox', version: '0.1.0', engine: 'none', model: 'none' });
    assert.equal(m.tls!.bound, true);
    assert.match(m.tls!.attestedKeySha256, /^[0-9a-f]{64}$/);
    assert.equal(m.tls!.attestedKeySha256, m.tls!.presentedKeySha256);
    // The fingerprints are those of the certificate the server presents, as a plain TLS client sees it.
    const presented = await presentedCertificate(live.server.url);
    assert.equal(m.tls!.presentedCertificateSha256, sha256Hex(presented.raw));
    assert.equal(m.tls!.presentedKeySha256, sha256Hex(presented.publicKey.export({ type: 'spki', format: 'der' })));
    assert.match(m.tls!.text, /^Bound/);
    assert.equal(m.pcrs[0]!.status, 'match');
    assert.equal(m.document!.nonce.length, 64);
    assert.notEqual(m.document!.root, 'AWS Nitro Enclaves Root G1');
    assert.ok(m.chain.every((c) => c.validity === 'valid'));
  });
});

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The certificate a loopback TLS server presents, fetched without verifying it (the test compares, not trusts). */
function presentedCertificate(url: string): Promise<X509Certificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no certificate presented'));
    });
    socket.once('error', reject);
  });
}
