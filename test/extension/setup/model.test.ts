import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AWS_NITRO_ROOT_G1_PEM } from '../../../src/core/attestation/roots.js';
import { parseSettings } from '../../../src/extension/settings/model.js';
import { derToPem, inlinePolicy, pcr0Problem, pinnedPolicy, presentedRoot, replacementWarning, rootCandidate, serverUrlProblem, simulationReplacement, simulationWarning, withRoots } from '../../../src/extension/setup/model.js';
import { issueCertificate, toPem } from '../../../src/server/attestation/certificates.js';
import { createNitroChain, nitroChainSpecs } from '../../../src/server/attestation/nitro-chain.js';
import { rootKind } from '../../../src/core/attestation/roots.js';
import { liveSimulationSession } from '../../../support/servers.js';

describe('Configure Server… decisions', () => {
  const live = liveSimulationSession();

  it('validates the URL as the setting does', () => {
    assert.equal(serverUrlProblem('https://enclave.example:8443'), undefined);
    assert.match(serverUrlProblem('http://enclave.example')!, /^must use https:/);
    assert.match(serverUrlProblem('https://e.example/api')!, /without a path/);
    assert.match(serverUrlProblem('  ')!, /^Enter the server/);
  });

  it('tells AWS’s root from a simulation root, and explains the simulation loudly', () => {
    const aws = rootCandidate(AWS_NITRO_ROOT_G1_PEM, 'aws.pem');
    assert.deepEqual(aws.simulation, []);
    const sim = rootCandidate(live.server.provider.rootPem, 'sim.pem');
    assert.equal(sim.simulation.length, 1);
    assert.match(sim.simulation[0]!.subject, /SIMULATION/);
    const warning = simulationWarning(sim);
    assert.match(warning, /^SIMULATION — NOT CONFIDENTIAL\. “.*SIMULATION.*” \(SHA-256 [0-9a-f]{16}…\) is not AWS's Nitro Enclaves Root G1\./);
    assert.match(warning, /can sign documents for any code and read your audio/);
    assert.throws(() => rootCandidate('not a certificate', 'x.pem'), /INVALID_ROOT|x\.pem/);
  });

  it('the SIMULATION explanation is plain text: no markdown backticks in a dialog', () => {
    const warning = simulationWarning(rootCandidate(live.server.provider.rootPem, 'sim.pem'));
    assert.doesNotMatch(warning, /`/);
    assert.match(warning, /for blindbox serve --simulate, the machine running it/);
  });

  it('a new BlindBox simulation root replaces the trusted one(s): exactly one simulation root is left, every other entry kept', async () => {
    const now = new Date();
    const [old1, old2, fresh] = [await createNitroChain(now), await createNitroChain(now), await createNitroChain(now)];
    const other = toPem((await issueCertificate({ ...nitroChainSpecs(now).root, subject: [['CN', 'Example Root']] })).der);
    // One entry holds another root and an old simulation root together (a bundle pasted at once).
    const existing = [toPem(old1.root.der), '/etc/blindbox/team-root.pem', AWS_NITRO_ROOT_G1_PEM, other + toPem(old2.root.der)];
    const candidate = presentedRoot({ der: fresh.root.der, sha256: 'ignored', kind: 'ignored' })!;
    const replacement = simulationReplacement(existing, candidate)!;
    assert.deepEqual(replacement.removed.map((r) => r.sha256).sort(), rootCandidate(toPem(old1.root.der) + toPem(old2.root.der), 'old').roots.map((r) => r.sha256).sort());
    assert.equal(replacement.added.sha256, candidate.roots[0]!.sha256);
    const after = parseSettings({ trustedRoots: replacement.list }, '/home/u');
    assert.deepEqual(after.trustedRoots, ['/etc/blindbox/team-root.pem'], 'paths stay');
    const kinds = after.inlineRoots.map((r) => rootKind(r.der));
    assert.deepEqual(kinds.filter((k) => k === 'blindbox-simulation').length, 1, 'one simulation root left');
    assert.ok(after.inlineRoots.some((r) => r.sha256 === candidate.roots[0]!.sha256), 'the new one');
    assert.ok(kinds.includes('aws-nitro') && kinds.includes('other'), "AWS's and the other root stay");
    const warning = replacementWarning(replacement);
    assert.match(warning, /new BlindBox SIMULATION root .* the 2 you trust .* start it with --ca <dir> to keep one\./);
    assert.doesNotMatch(warning, /`/);
  });

  it('nothing to replace: no simulation root trusted, the same one trusted, or the new root is not a simulation root', async () => {
    const now = new Date();
    const fresh = await createNitroChain(now);
    const candidate = rootCandidate(toPem(fresh.root.der), 'new');
    assert.equal(simulationReplacement(['/etc/sim.pem', AWS_NITRO_ROOT_G1_PEM], candidate), undefined);
    assert.equal(simulationReplacement([toPem(fresh.root.der)], candidate), undefined);
    assert.equal(simulationReplacement(undefined, candidate), undefined);
    const other = rootCandidate(toPem((await issueCertificate({ ...nitroChainSpecs(now).root, subject: [['CN', 'Example Root']] })).der), 'other');
    assert.equal(simulationReplacement([toPem((await createNitroChain(now)).root.der)], other), undefined, 'another root is never put in place of a simulation root');
    assert.equal(presentedRoot(undefined), undefined);
    assert.equal(presentedRoot({ der: 'MIIB' }), undefined);
  });

  it('stores roots inline, once each, and the settings read them back', () => {
    const sim = rootCandidate(live.server.provider.rootPem, 'sim.pem');
    const once = withRoots(['/etc/old.pem'], sim.pems);
    assert.equal(once.length, 2);
    assert.deepEqual(withRoots(once, sim.pems), once, 'the same certificate is not added twice');
    const settings = parseSettings({ trustedRoots: once }, '/home/u');
    assert.deepEqual(settings.trustedRoots, ['/etc/old.pem']);
    assert.equal(settings.inlineRoots[0]!.sha256, sim.roots[0]!.sha256);
    assert.equal(rootCandidate(derToPem(sim.roots[0]!.der), 'again').roots[0]!.sha256, sim.roots[0]!.sha256);
  });

  it('pins PCR0 under the server’s name, and copies a policy inline', () => {
    const hex = 'AB'.repeat(48);
    assert.equal(pcr0Problem(hex), undefined);
    assert.match(pcr0Problem('abc')!, /hex|bytes/i);
    assert.match(pcr0Problem('')!, /^Enter PCR0/);
    const policy = pinnedPolicy('https://enclave.example:8443', `0x${hex}`);
    assert.deepEqual(policy, { name: 'enclave.example', pcrs: { '0': 'ab'.repeat(48) } });
    assert.deepEqual(parseSettings({ policy }, '/').policy.pcrs, { '0': 'ab'.repeat(48) });
    assert.deepEqual(inlinePolicy({ name: 'p', pcrs: { 1: hex }, maxAgeSeconds: 60 }), { name: 'p', pcrs: { 1: hex }, maxAgeSeconds: 60 });
  });
});
