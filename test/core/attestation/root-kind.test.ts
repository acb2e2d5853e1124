/**
 * Which root a certificate is (core/attestation/roots.ts `rootKind`), decided from the certificate alone, and how a
 * chain that starts at an untrusted root names it (CHAIN_UNTRUSTED with the presented root). The simulation roots are
 * the ones `blindbox serve --simulate` really makes (with and without `--ca`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { validateChain } from '../../../src/core/attestation/chain.js';
import { AWS_NITRO_ROOT_G1, rootKind, trustedRootsFromPem } from '../../../src/core/attestation/roots.js';
import { AttestationError } from '../../../src/core/errors.js';
import { issueCertificate, toPem } from '../../../src/server/attestation/certificates.js';
import { createNitroChain, nitroChainSpecs } from '../../../src/server/attestation/nitro-chain.js';
import { loadOrCreateSimulationRoot } from '../../../src/server/attestation/simulation-ca.js';

const now = new Date();

describe('rootKind', () => {
  it("AWS's Nitro Enclaves Root G1 is aws-nitro", () => {
    assert.equal(rootKind(AWS_NITRO_ROOT_G1.der), 'aws-nitro');
  });

  it('the root of a simulation chain, and the one kept in a --ca directory, are blindbox-simulation', async () => {
    const chain = await createNitroChain(now);
    assert.equal(rootKind(chain.root.der), 'blindbox-simulation');
    const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-root-kind-'));
    try {
      const kept = await loadOrCreateSimulationRoot(path.join(dir, 'ca'), now);
      assert.equal(rootKind(kept.der), 'blindbox-simulation');
      // As a user's setting holds it: PEM text, read back.
      assert.equal(rootKind(trustedRootsFromPem(toPem(kept.der), 'pasted')[0]!.der), 'blindbox-simulation');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a simulation chain's intermediates, another self-signed CA, and an impostor of the name issued by another CA are other", async () => {
    const chain = await createNitroChain(now);
    assert.equal(rootKind(chain.regional.der), 'other');
    assert.equal(rootKind(chain.leaf.der), 'other');
    const rootSpec = nitroChainSpecs(now).root;
    const other = await issueCertificate({ ...rootSpec, subject: [['C', 'US'], ['O', 'Example Corp'], ['CN', 'Example Root']] });
    assert.equal(rootKind(other.der), 'other');
    // The simulation root's exact name, but not self-signed: signed by `other`.
    const impostor = await issueCertificate(rootSpec, other);
    assert.equal(rootKind(impostor.der), 'other');
    // Self-signed with the name but not a CA.
    const notCa = await issueCertificate({ ...rootSpec, basicConstraints: { critical: true, ca: false } });
    assert.equal(rootKind(notCa.der), 'other');
    assert.equal(rootKind(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), 'other');
  });
});

describe('CHAIN_UNTRUSTED names the root the chain starts at', () => {
  it('a simulation root is called a BlindBox SIMULATION root and travels with the error', async () => {
    const chain = await createNitroChain(now);
    const err = catchError(() => validateChain(chain.cabundle, chain.leaf.der, [AWS_NITRO_ROOT_G1], now));
    assert.equal(err.code, 'CHAIN_UNTRUSTED');
    assert.match(err.message, /^The attestation chain starts at a BlindBox SIMULATION root \(SHA-256 [0-9a-f]{16}…\), which is not a trusted root\.$/);
    assert.equal(err.untrustedRoot?.kind, 'blindbox-simulation');
    assert.deepEqual(err.untrustedRoot?.der, chain.root.der);
    assert.equal(err.untrustedRoot?.trustedSimulationRoots, 0);
    // After a restart without --ca: the old simulation root is trusted, the server presents a new one.
    const old = await createNitroChain(now);
    const again = catchError(() => validateChain(chain.cabundle, chain.leaf.der, [AWS_NITRO_ROOT_G1, ...trustedRootsFromPem(toPem(old.root.der), 'old')], now));
    assert.equal(again.untrustedRoot?.kind, 'blindbox-simulation');
    assert.equal(again.untrustedRoot?.trustedSimulationRoots, 1);
  });

  it('any other root is named by its subject, as the server sent it', async () => {
    const rootSpec = nitroChainSpecs(now).root;
    const other = await issueCertificate({ ...rootSpec, subject: [['C', 'US'], ['O', 'Example Corp'], ['CN', 'Example Root']] });
    const chain = await createNitroChain(now, {}, other);
    const err = catchError(() => validateChain(chain.cabundle, chain.leaf.der, [AWS_NITRO_ROOT_G1], now));
    assert.match(err.message, /^The attestation chain starts at "C=US, O=Example Corp, CN=Example Root" \(SHA-256 /);
    assert.equal(err.untrustedRoot?.kind, 'other');
  });
});

function catchError(fn: () => unknown): AttestationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AttestationError, String(err));
    return err;
  }
  assert.fail('no error');
}
