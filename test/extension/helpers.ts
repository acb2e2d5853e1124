/** Shared material for the extension tests: verified results from real documents and the simulation server. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256Hex, verifyAttestation, type AttestedEnclave, type VerifiedAttestation } from '../../src/core/index.js';
import type { PolicyInfo, TrustState } from '../../src/extension/trust/trust-state.js';
import { loadRealDocuments, NITRO_DIR } from '../helpers/fixtures.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function readRepoFile(relative: string): string {
  return readFileSync(REPO + relative, 'utf8');
}

export function policy(pcrs: Record<number, string> = {}, name = 'test'): PolicyInfo {
  return { name, pcrs, maxAgeSeconds: 600, source: 'test' };
}

/**
 * real_3: a real Nitro document, verified at its own timestamp, with the TLS certificate recorded next to it. Its
 * `public_key` is empty (it binds the certificate through `user_data`), so the session would refuse it: the binding
 * here is made up as if the session had bound that certificate, only to give the renderers a complete value.
 */
export function realAttested(): { attested: AttestedEnclave; verifiedAt: number; doc: VerifiedAttestation } {
  const real = loadRealDocuments().find((d) => d.name === 'real_3')!;
  const doc = verifyAttestation(real.bytes, { now: new Date(real.timestampMs) });
  const presentedCertificate = new X509Certificate(readFileSync(NITRO_DIR + 'real_3_tls_cert.der'));
  const keySha256 = sha256Hex(presentedCertificate.publicKey.export({ type: 'spki', format: 'der' }));
  const binding = { presentedSpkiSha256: keySha256, attestedKeySha256: keySha256, presentedCertificateSha256: sha256Hex(presentedCertificate.raw), bound: true } as const;
  const attested: AttestedEnclave = { attestation: doc, document: new Uint8Array(real.bytes), presentedCertificate, binding, service: undefined, simulation: false };
  return { attested, verifiedAt: real.timestampMs, doc };
}

/** A verified trust state for `enclave` under `pol`. */
export function verified(server: string, enclave: AttestedEnclave, pol: PolicyInfo = policy()): TrustState {
  return { kind: 'verified', server, policy: pol, enclaves: [enclave] };
}
