/** Shared material for the extension tests: verified results from real documents and the simulation server. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sha256Hex, verifyAttestation, type AttestedEnclave, type VerifiedAttestation } from '../../src/core/index.js';
import type { PolicyInfo, TrustState } from '../../src/extension/trust/trust-state.js';
import { parseSettings, type RawSettings, type ExtensionSettings } from '../../src/extension/settings/model.js';
import { loadRealDocuments, NITRO_DIR } from '../../support/fixtures.js';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';

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
export function verified(server: string, enclave: AttestedEnclave, pol: PolicyInfo = policy()): Extract<TrustState, { kind: 'verified' }> {
  return { kind: 'verified', server, policy: pol, enclaves: [enclave] };
}

/**
 * A simulation server whose root certificate is written to a file, and extension settings that trust that file, for
 * the suite that calls this (node:test `before`/`after` hooks). Read the fields inside tests.
 */
export function liveTrustedSimulation(options: Parameters<typeof startSimulationServer>[0] = {}): {
  server: ReferenceServer;
  /** A temporary directory, removed after the suite. */
  dir: string;
  rootFile: string;
  /** The settings a user trusting the simulation root has, with `raw` on top. */
  settings(raw?: RawSettings): ExtensionSettings;
} {
  const live = {
    settings: (raw: RawSettings = {}) => parseSettings({ serverUrl: live.server.url, trustedRoots: [live.rootFile], ...raw }, '/home/u'),
  } as ReturnType<typeof liveTrustedSimulation>;
  before(async () => {
    live.server = await startSimulationServer(options);
    live.dir = await mkdtemp(path.join(tmpdir(), 'blindbox-trust-'));
    live.rootFile = path.join(live.dir, 'sim-root.pem');
    await writeFile(live.rootFile, live.server.provider.rootPem);
  });
  after(async () => {
    await live.server?.close();
    if (live.dir) await rm(live.dir, { recursive: true, force: true });
  });
  return live;
}
