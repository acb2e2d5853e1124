/** `serve --ca <dir>`: one simulation root in a directory, shared by replicas started at the same moment. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { trustedRootsFromPem, verifyAttestation } from '../../../src/core/index.js';
import { loadOrCreateSimulationRoot, SIMULATION_CA_FILE } from '../../../src/server/attestation/simulation-ca.js';
import { SimulationAttestationProvider } from '../../../src/server/attestation/simulation.js';
import { toPem } from '../../../src/server/attestation/certificates.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-ca-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the shared simulation root', () => {
  it('is created once (replicas racing agree on one root), 0600 in a 0700 directory, and read back by later replicas', async () => {
    const ca = path.join(dir, 'ca');
    const roots = await Promise.all([0, 1, 2].map(() => loadOrCreateSimulationRoot(ca, new Date())));
    const again = await loadOrCreateSimulationRoot(ca, new Date());
    for (const r of [...roots, again]) assert.deepEqual(r.der, roots[0]!.der);
    assert.equal((await stat(ca)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(ca, SIMULATION_CA_FILE))).mode & 0o777, 0o600);
  });

  it('replicas on it have their own module id, and their documents chain to the one root', async () => {
    const root = await loadOrCreateSimulationRoot(path.join(dir, 'ca'), new Date());
    const pcrs = new Map([[0, new Uint8Array(48).fill(1)]]);
    const replicas = await Promise.all([0, 1].map(() => SimulationAttestationProvider.create(pcrs, undefined, root)));
    assert.notEqual(replicas[0]!.moduleId, replicas[1]!.moduleId);
    const trusted = trustedRootsFromPem(toPem(root.der), 'shared simulation root');
    for (const replica of replicas) {
      assert.equal(replica.rootPem, toPem(root.der));
      const nonce = new Uint8Array(32).fill(7);
      const doc = await replica.attest({ nonce, publicKey: new Uint8Array([1, 2, 3]), userData: new Uint8Array() });
      assert.equal(verifyAttestation(doc, { roots: trusted, expectedNonce: nonce }).moduleId, replica.moduleId);
    }
  });

  it('refuses a CA file whose key is not the certificate’s', async () => {
    const ca = path.join(dir, 'mismatched');
    const [a, b] = await Promise.all([loadOrCreateSimulationRoot(path.join(dir, 'a'), new Date()), loadOrCreateSimulationRoot(path.join(dir, 'b'), new Date())]);
    const keyOfB = (await readFile(path.join(dir, 'b', SIMULATION_CA_FILE), 'utf8')).replace(/^[\s\S]*?(-----BEGIN PRIVATE KEY-----)/, '$1');
    await mkdir(ca, { recursive: true });
    await writeFile(path.join(ca, SIMULATION_CA_FILE), toPem(a.der) + keyOfB, { mode: 0o600 });
    assert.notDeepEqual(a.der, b.der);
    await assert.rejects(loadOrCreateSimulationRoot(ca, new Date()), /the private key does not belong to the certificate/);
  });
});
