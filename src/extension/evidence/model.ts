/**
 * "Export attestation evidence": a JSON file someone else can check without
 * trusting this extension. It holds the raw attestation document (base64),
 * the verdict, the policy, when it was verified and the TLS certificate the
 * server presented on the attested connection, with the TLS binding as the
 * session checked it. Every fact is copied from the trust state, none derived.
 */
import { verifiedReport } from '../../core/attestation/report.js';
import { EVIDENCE_FORMAT, type AttestationEvidence, type EnclaveEvidence } from '../../core/evidence/file.js';
import type { AttestedEnclave } from '../../core/transport/attested-enclave.js';
import { isSimulation, primaryEnclave, type TrustState } from '../trust/trust-state.js';

export { EVIDENCE_FORMAT, type AttestationEvidence, type EnclaveEvidence } from '../../core/evidence/file.js';

function enclaveEvidence(enclave: AttestedEnclave): EnclaveEvidence {
  const a = enclave.attestation;
  return {
    verifiedAt: new Date(a.verifiedAt).toISOString(),
    attestation: { ...verifiedReport(a), documentSha256: a.documentSha256, root: { label: a.root.label, sha256: a.root.sha256, isAwsNitroRoot: a.root.isAwsNitroRoot } },
    document: Buffer.from(enclave.document).toString('base64'),
    presentedCertificate: { pem: enclave.presentedCertificate.toString(), sha256: enclave.binding.presentedCertificateSha256 },
    tlsBinding: { ...enclave.binding },
  };
}

/** The evidence of `result` (under `result.policy`), exported at `now`. */
export function buildEvidence(result: TrustState, now: Date): AttestationEvidence {
  const server = result.kind === 'unconfigured' ? null : (result.server ?? null);
  const policy = result.policy;
  const attested: AttestedEnclave | undefined = result.kind === 'verified' ? primaryEnclave(result) : result.kind === 'failed' ? result.observed : undefined;
  const failure = result.kind === 'failed' ? result.failure : undefined;
  const evidence = attested ? enclaveEvidence(attested) : undefined;
  return {
    format: EVIDENCE_FORMAT,
    exportedAt: now.toISOString(),
    server,
    verdict: {
      ok: result.kind === 'verified',
      simulation: result.kind === 'verified' && isSimulation(result.enclaves),
      code: failure?.code ?? (result.kind === 'verified' ? null : result.kind.toUpperCase()),
      message: failure?.message ?? null,
      serverSaid: failure?.serverSaid ?? null,
    },
    verifiedAt: result.kind === 'verified' ? evidence!.verifiedAt : null,
    policy: policy ? { name: policy.name, source: policy.source, pcrs: { ...policy.pcrs }, maxAgeSeconds: policy.maxAgeSeconds } : null,
    attestation: evidence?.attestation ?? null,
    document: evidence?.document ?? null,
    presentedCertificate: evidence?.presentedCertificate ?? null,
    tlsBinding: evidence?.tlsBinding ?? null,
    diagnosticOnly: result.kind === 'failed' && attested !== undefined,
    enclaves: result.kind === 'verified' ? result.enclaves.map(enclaveEvidence) : [],
  };
}

/** A suggested file name: `blindbox-evidence-<host>-<time>.json`, safe on every file system. */
export function evidenceFileName(server: string | null, now: Date): string {
  let host = 'server';
  try {
    if (server) host = new URL(server).host;
  } catch {
    // keep the default
  }
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `blindbox-evidence-${host.replace(/[^A-Za-z0-9.-]+/g, '_')}-${stamp}.json`;
}
