/** Shared material for the extension tests: verified results from real documents and the simulation server. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { verifyAttestation, type Attested, type VerifiedAttestation } from '../../src/core/index.js';
import type { PolicyInfo } from '../../src/extension/state.js';
import { loadRealDocuments, NITRO_DIR } from '../helpers/fixtures.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function readRepoFile(relative: string): string {
  return readFileSync(REPO + relative, 'utf8');
}

export function policy(pcrs: Record<number, string> = {}, name = 'test'): PolicyInfo {
  return { name, pcrs, maxAgeSeconds: 600, source: 'test' };
}

/**
 * real_3: a real Nitro document whose `public_key` is the SPKI of the TLS
 * certificate recorded next to it, verified at its own timestamp.
 */
export function realAttested(): { attested: Attested; verifiedAt: number; doc: VerifiedAttestation } {
  const real = loadRealDocuments().find((d) => d.name === 'real_3')!;
  const doc = verifyAttestation(real.bytes, { now: new Date(real.timestampMs) });
  const presentedCertificate = new Uint8Array(readFileSync(NITRO_DIR + 'real_3_tls_cert.der'));
  return { attested: { attestation: doc, presentedCertificate, attestedAt: real.timestampMs, simulation: false, document: new Uint8Array(real.bytes) }, verifiedAt: real.timestampMs, doc };
}
