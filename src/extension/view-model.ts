/**
 * The attestation webview's content as plain data, rendered from the trust state (which carries its policy) and the
 * time. Pure, and it decides no security verdict: the TLS binding, the service description and simulation come as
 * established by the session (`AttestedEnclave`). The webview script only copies these strings into the DOM with
 * `textContent`, so every value that came from a server or a certificate stays text.
 */
import { normalisePcrPolicy } from '../core/attestation/policy.js';
import type { CertificateSummary } from '../core/attestation/chain.js';
import type { AttestedEnclave } from '../core/transport/attested-enclave.js';
import { formatAge } from '../core/util/format-age.js';
import { isSimulation, primaryEnclave, type PolicyInfo, type TrustState } from './trust/trust-state.js';

export type ViewState = 'unconfigured' | 'unverified' | 'verifying' | 'verified' | 'simulation' | 'failed';
export type PcrStatus = 'match' | 'mismatch' | 'not-in-policy' | 'missing';
export type Validity = 'valid' | 'expired' | 'not-yet-valid';

export interface PcrRow {
  readonly index: number;
  /** Lower-case hex; empty when the policy expects a PCR the document lacks. */
  readonly value: string;
  readonly expected: string | null;
  readonly status: PcrStatus;
  /** "match", "MISMATCH", "not in policy", "missing". */
  readonly statusText: string;
}

/** A certificate of the chain as the core summarised it, with where it sits and whether it is valid at view time. */
export interface ChainEntryView extends CertificateSummary {
  /** 0 = root. */
  readonly position: number;
  readonly role: 'root' | 'intermediate' | 'leaf';
  readonly validity: Validity;
  readonly validityText: string;
}

export interface AttestationViewModel {
  readonly state: ViewState;
  readonly server: string | null;
  /** `sentence` is ours; `serverSaid` is the server's own words (unauthenticated), shown apart and attributed. */
  readonly verdict: { readonly ok: boolean; readonly title: string; readonly code: string | null; readonly sentence: string; readonly serverSaid?: string | null };
  /** Set only for simulation roots: the loud banner's text. */
  readonly simulationBanner: string | null;
  readonly document: {
    readonly moduleId: string;
    readonly timestamp: string;
    readonly age: string;
    readonly digest: string;
    readonly nonce: string;
    readonly documentSha256: string;
    readonly verifiedAt: string;
    /** The root the chain ends in (its label: AWS, or the trusted file). */
    readonly root: string;
    /** True when the document was fetched only to show why it failed (PCR_MISMATCH). */
    readonly diagnosticOnly: boolean;
  } | null;
  readonly service: { readonly service: string; readonly version: string; readonly engine: string; readonly model: string } | null;
  /** The binding as the session checked it (it refuses any other channel, so `bound` is always true). */
  readonly tls: {
    readonly bound: true;
    readonly text: string;
    readonly attestedKeySha256: string;
    readonly presentedKeySha256: string;
    readonly presentedCertificateSha256: string;
  } | null;
  readonly policy: { readonly name: string; readonly source: string; readonly maxAge: string; readonly pinned: number; readonly note: string | null } | null;
  readonly pcrs: readonly PcrRow[];
  readonly chain: readonly ChainEntryView[];
  readonly canExport: boolean;
  readonly canVerify: boolean;
  readonly generatedAt: string;
}

const STATUS_TEXT: Record<PcrStatus, string> = { match: 'match', mismatch: 'MISMATCH', 'not-in-policy': 'not in policy', missing: 'missing' };

/** The webview's model for `result` (under `result.policy`, when known) at `now`. */
export function attestationViewModel(result: TrustState, now: Date): AttestationViewModel {
  const t = now.getTime();
  const policy = result.policy;
  const common = {
    server: result.kind === 'unconfigured' ? null : (result.server ?? null),
    policy: policy ? policyView(policy) : null,
    generatedAt: now.toISOString(),
    canVerify: result.kind !== 'unconfigured' && result.kind !== 'verifying',
  };
  const empty = { simulationBanner: null, document: null, service: null, tls: null, pcrs: [], chain: [] };
  switch (result.kind) {
    case 'unconfigured':
      return {
        ...common,
        ...empty,
        state: 'unconfigured',
        verdict: { ok: false, title: 'No server configured', code: null, sentence: 'Set blindbox.serverUrl in your user settings; the extension then attests the server before any audio is sent.' },
        canExport: false,
      };
    case 'unverified':
      return { ...common, ...empty, state: 'unverified', verdict: { ok: false, title: 'Not verified yet', code: null, sentence: 'Run “BlindBox: Verify Enclave Server” to attest this server.' }, canExport: false };
    case 'verifying':
      return { ...common, ...empty, state: 'verifying', verdict: { ok: false, title: 'Verifying…', code: null, sentence: 'Asking the server for a fresh attestation document and checking it.' }, canExport: false };
    case 'verified': {
      const a = primaryEnclave(result);
      const simulation = isSimulation(result.enclaves);
      return {
        ...common,
        ...documentParts(a, policy, t, false),
        state: simulation ? 'simulation' : 'verified',
        verdict: simulation
          ? {
              ok: true,
              title: 'Verified against a SIMULATION root — not confidential',
              code: null,
              sentence: `The document is well-formed, signed and bound to this TLS connection, but it chains to “${a.attestation.root.label}”, a root you trusted in blindbox.trustedRoots, not to AWS Nitro.`,
            }
          : {
              ok: true,
              title: 'Verified: genuine AWS Nitro enclave',
              code: null,
              sentence: `The document chains to the AWS Nitro Enclaves Root G1, its signature verifies, its measurements satisfy the policy “${result.policy.name}”, and this TLS connection ends inside the attested enclave.`,
            },
        simulationBanner: simulation
          ? `SIMULATION — NOT CONFIDENTIAL. This server’s attestation comes from a simulation root (“${a.attestation.root.label}”), not from AWS Nitro Enclaves hardware. Nothing protects the audio from the machine’s operator: use it for testing only.`
          : null,
        canExport: true,
      };
    }
    case 'failed': {
      const observed = result.observed;
      const verdict = {
        ok: false,
        title: 'Verification FAILED',
        code: result.failure.code,
        sentence: result.failure.message,
        serverSaid: result.failure.serverSaid ?? null,
      };
      const base = { ...common, state: 'failed' as const, verdict, canExport: true };
      if (!observed) return { ...base, ...empty };
      return { ...base, ...documentParts(observed, policy, t, true), simulationBanner: null };
    }
  }
}

function documentParts(a: AttestedEnclave, policy: PolicyInfo | undefined, t: number, diagnosticOnly: boolean) {
  const { attestation, service, binding } = a;
  return {
    document: {
      moduleId: attestation.moduleId,
      timestamp: new Date(attestation.timestamp).toISOString(),
      age: `${formatAge(t - attestation.timestamp)} old`,
      digest: attestation.digest,
      nonce: attestation.nonce ?? '(none)',
      documentSha256: attestation.documentSha256,
      verifiedAt: new Date(attestation.verifiedAt).toISOString(),
      root: attestation.root.label,
      diagnosticOnly,
    },
    service: service ? { service: service.service, version: service.version, engine: service.engine, model: service.model } : null,
    tls: {
      bound: binding.bound,
      text: 'Bound: the TLS key of this connection is the key the enclave attested (public_key), so the channel ends inside the enclave.',
      attestedKeySha256: binding.attestedKeySha256,
      presentedKeySha256: binding.presentedSpkiSha256,
      presentedCertificateSha256: binding.presentedCertificateSha256,
    },
    pcrs: pcrRows(attestation.pcrs, policy),
    chain: chainEntries(attestation.chain, t),
  };
}

/** Every PCR of the document, plus any the policy expects but the document lacks, in index order. */
export function pcrRows(pcrs: Readonly<Record<number, string>>, policy: PolicyInfo | undefined): PcrRow[] {
  const expected = policy ? normalisePcrPolicy(policy.pcrs) : new Map<number, string>();
  const indices = new Set<number>([...Object.keys(pcrs).map(Number), ...expected.keys()]);
  return [...indices]
    .sort((a, b) => a - b)
    .map((index) => {
      const value = pcrs[index] ?? '';
      const want = expected.get(index) ?? null;
      const status: PcrStatus = want === null ? 'not-in-policy' : !value ? 'missing' : value.toLowerCase() === want ? 'match' : 'mismatch';
      return { index, value, expected: want, status, statusText: STATUS_TEXT[status] };
    });
}

export function chainEntries(chain: readonly CertificateSummary[], t: number): ChainEntryView[] {
  const last = chain.length - 1;
  return chain.map((c, position) => {
    const notBefore = Date.parse(c.notBefore);
    const notAfter = Date.parse(c.notAfter);
    const validity: Validity = t < notBefore ? 'not-yet-valid' : t > notAfter ? 'expired' : 'valid';
    const validityText =
      validity === 'valid' ? `valid (until ${c.notAfter})` : validity === 'expired' ? `EXPIRED (since ${c.notAfter})` : `NOT YET VALID (from ${c.notBefore})`;
    return { ...c, position, role: position === 0 ? 'root' : position === last ? 'leaf' : 'intermediate', validity, validityText };
  });
}

function policyView(policy: PolicyInfo): NonNullable<AttestationViewModel['policy']> {
  const pinned = Object.keys(policy.pcrs).length;
  return {
    name: policy.name,
    source: policy.source,
    maxAge: formatAge(policy.maxAgeSeconds * 1000),
    pinned,
    note: pinned === 0 ? 'This policy pins no PCR: any code running in a genuine enclave is accepted. Pin PCR0–PCR2 in blindbox.policy to accept only your build.' : null,
  };
}
