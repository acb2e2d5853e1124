import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AWS_NITRO_ROOT_G1_PEM } from '../../src/core/attestation/roots.js';
import { parseSettings } from '../../src/extension/settings/model.js';
import { derToPem, inlinePolicy, pcr0Problem, pinnedPolicy, rootCandidate, serverUrlProblem, simulationWarning, withRoots } from '../../src/extension/setup/model.js';
import { liveSimulationSession } from '../../support/servers.js';

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
