/**
 * The attestation webview's content as plain data, rendered from the trust state (which carries its policy) and the
 * time. Pure, and it decides no security verdict: the TLS binding, the service description and simulation come as
 * established by the session (`AttestedEnclave`). The webview script only copies these strings into the DOM with
 * `textContent`, so every value that came from a server or a certificate stays text.
 */
import { normalisePcrPolicy } from '../../../core/attestation/policy.js';
import type { CertificateSummary } from '../../../core/attestation/chain.js';
import type { AttestedEnclave } from '../../../core/transport/attested-enclave.js';
import { formatDuration } from '../../../core/util/format-duration.js';
import { escapeStrings } from '../../../shared/text.js';
import { firstDifference } from '../../../shared/difference.js';
import { enclaveFacts, relativeAge } from '../../trust/summary.js';
import { chainRootOf, simulationBanner, simulationRoot, stateMismatch, trustChecks, type CheckView, type PcrMismatchView } from '../../trust/checks.js';
import { oldestVerification, primaryEnclave, type PolicyInfo, type TrustState } from '../../trust/trust-state.js';

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
  /** Every byte zero (an unused register). */
  readonly zero: boolean;
  /** Folded away by default: the policy says nothing about it (zero ones included). */
  readonly folded: boolean;
  /** For a mismatch: the index of the first digit where `value` and `expected` differ (the view marks it). */
  readonly diffAt: number | null;
}

/** A time for people: the webview shows `relative` and the local clock time of `at`, with UTC (`utc`) in the tooltip. */
export interface TimeView {
  /** Epoch ms; the webview formats it in the viewer's own time zone (the extension host may be a remote machine). */
  readonly at: number;
  readonly utc: string;
  /** "just now", "42 s ago", "3 min ago", "2 h 5 min ago". */
  readonly relative: string;
}

export type { CheckId, CheckState, CheckView } from '../../trust/checks.js';

/** One attested enclave of the session (a fleet has several). */
export interface EnclaveView {
  readonly moduleId: string;
  readonly pcr0: string;
  readonly pcr0Prefix: string;
  readonly keySha256: string;
  readonly keyPrefix: string;
  readonly verified: TimeView;
  readonly root: string;
  readonly simulation: boolean;
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
  /** The binding as the session checked it: true, or false when TLS is inspected and bodies are sealed to the enclave. */
  readonly tls: {
    readonly bound: boolean;
    readonly text: string;
    readonly attestedKeySha256: string;
    readonly presentedKeySha256: string;
    readonly presentedCertificateSha256: string;
  } | null;
  readonly policy: { readonly name: string; readonly source: string; readonly maxAge: string; readonly pinned: number; readonly note: string | null } | null;
  readonly pcrs: readonly PcrRow[];
  readonly chain: readonly ChainEntryView[];
  /** Genuine hardware, expected code, channel bound: what the view leads with. Empty before any result. */
  readonly checks: readonly CheckView[];
  /** PCR_MISMATCH: both values in full, where they first differ, and what *Pin the server's PCR…* would pin. */
  readonly mismatch: PcrMismatchView | null;
  /** Every enclave in the trust state (the diagnostic one for a PCR mismatch). */
  readonly enclaves: readonly EnclaveView[];
  /** When the state was established: the oldest enclave's verification, or the failure. */
  readonly when: (TimeView & { readonly verb: 'verified' | 'failed' }) | null;
  readonly canExport: boolean;
  readonly canVerify: boolean;
  readonly generatedAt: string;
  /** What *Verify Receipt…* last proved or refused in this window; null before any check. */
  readonly receipt: ReceiptCheckView | null;
}

/** The outcome of one *Verify Receipt…*, as the command established it (the core verified; this only records it). */
export interface ReceiptCheck {
  readonly ok: boolean;
  /** The receipt file's name. */
  readonly file: string;
  /** What was proved (the core's statement), or why not, in words (no hashes: those are `details`). */
  readonly text: string;
  /** A refusal's code and hashes, one line each, shown folded under the words. */
  readonly details?: readonly string[];
  /** For a hash refusal: whether each file is the one the enclave signed for. */
  readonly matches?: { readonly audio: boolean; readonly transcript: boolean };
  /** *Compare with the signed text*: opens the diff of the signed text and the checked transcript, when both are at hand. */
  readonly compare?: () => void;
  readonly checkedAt: number;
}

/** The receipt section of the view. */
export interface ReceiptCheckView {
  readonly ok: boolean;
  readonly title: string;
  readonly file: string;
  readonly text: string;
  /** "Audio: matches what the enclave signed" / "Transcript: differs from …", with `ok` for the mark. */
  readonly matches: readonly { readonly ok: boolean; readonly text: string }[];
  readonly details: readonly string[];
  readonly canCompare: boolean;
  readonly when: TimeView;
}

const STATUS_TEXT: Record<PcrStatus, string> = { match: 'match', mismatch: 'MISMATCH', 'not-in-policy': 'not in policy', missing: 'missing' };

/** The webview's model for `result` (under `result.policy`, when known) at `now`, with the last receipt check if any. */
export function attestationViewModel(result: TrustState, now: Date, receipt?: ReceiptCheck): AttestationViewModel {
  // The model quotes certificates, the document, the policy, the server and files: every string escaped, so no control
  // or bidi character reaches the webview's text.
  return escapeStrings({ ...trustViewModel(result, now), receipt: receipt ? receiptCheckView(receipt, now.getTime()) : null });
}

function receiptCheckView(check: ReceiptCheck, now: number): ReceiptCheckView {
  const mark = (what: string, ok: boolean) => ({ ok, text: `${what}: ${ok ? 'matches what the enclave signed' : 'differs from what the enclave signed'}` });
  const matches = check.matches ? [mark('Audio', check.matches.audio), mark('Transcript', check.matches.transcript)] : [];
  return { ok: check.ok, title: check.ok ? 'Receipt verified' : 'Receipt refused', file: check.file, text: check.text, matches, details: check.details ?? [], canCompare: check.compare !== undefined, when: timeView(check.checkedAt, now) };
}

function trustViewModel(result: TrustState, now: Date): Omit<AttestationViewModel, 'receipt'> {
  const t = now.getTime();
  const policy = result.policy;
  const common = {
    server: result.kind === 'unconfigured' ? null : (result.server ?? null),
    policy: policy ? policyView(policy) : null,
    generatedAt: now.toISOString(),
    canVerify: result.kind !== 'unconfigured' && result.kind !== 'verifying',
  };
  const empty = { simulationBanner: null, document: null, service: null, tls: null, pcrs: [], chain: [], checks: [], mismatch: null, enclaves: [], when: null };
  switch (result.kind) {
    case 'unconfigured':
      return {
        ...common,
        ...empty,
        state: 'unconfigured',
        verdict: { ok: false, title: 'No server configured', code: null, sentence: 'Run “BlindBox: Configure Server…” (the Configure… button) to set the server in your user settings; the extension then attests it before any audio is sent.' },
        canExport: false,
      };
    case 'unverified':
      return { ...common, ...empty, state: 'unverified', verdict: { ok: false, title: 'Not verified yet', code: null, sentence: 'Run “BlindBox: Verify Enclave Server” to attest this server.' }, canExport: false };
    case 'verifying':
      return { ...common, ...empty, state: 'verifying', verdict: { ok: false, title: 'Verifying…', code: null, sentence: 'Asking the server for a fresh attestation document and checking it.' }, canExport: false };
    case 'verified': {
      const a = primaryEnclave(result);
      const simulation = simulationRoot(result);
      return {
        ...common,
        ...documentParts(a, policy, t, false),
        checks: trustChecks(result, t),
        mismatch: null,
        enclaves: result.enclaves.map((e) => enclaveView(e, t)),
        when: { verb: 'verified', ...timeView(oldestVerification(result.enclaves), t) },
        state: simulation !== undefined ? 'simulation' : 'verified',
        verdict: simulation !== undefined
          ? {
              ok: true,
              title: 'Verified against a SIMULATION root — not confidential',
              code: null,
              sentence: `The document is well-formed, signed and bound to this TLS connection, but it chains to “${simulation}”, a root you trusted in blindbox.trustedRoots, not to AWS Nitro.`,
            }
          : {
              ok: true,
              title: 'Verified: genuine AWS Nitro enclave',
              code: null,
              sentence: `The document chains to the AWS Nitro Enclaves Root G1, its signature verifies, its measurements satisfy the policy “${result.policy.name}”, and this TLS connection ends inside the attested enclave.`,
            },
        simulationBanner: simulation !== undefined ? simulationBanner(simulation) : null,
        canExport: true,
      };
    }
    case 'failed': {
      const observed = result.observed;
      const root = chainRootOf(result);
      const verdict = {
        ok: false,
        title: root?.simulation ? 'Verification FAILED — SIMULATION root, not confidential' : 'Verification FAILED',
        code: result.failure.code,
        sentence: result.failure.message,
        serverSaid: result.failure.serverSaid ?? null,
      };
      const base = {
        ...common,
        ...empty,
        state: 'failed' as const,
        verdict,
        canExport: true,
        checks: trustChecks(result, t),
        mismatch: stateMismatch(result) ?? null,
        when: { verb: 'failed' as const, ...timeView(result.at, t) },
        // A chain that ended in a simulation root is SIMULATION, refused or not.
        simulationBanner: root?.simulation ? simulationBanner(root.label) : null,
      };
      if (!observed) return base;
      return { ...base, ...documentParts(observed, policy, t, true), enclaves: [enclaveView(observed, t)] };
    }
  }
}

function documentParts(a: AttestedEnclave, policy: PolicyInfo | undefined, t: number, diagnosticOnly: boolean) {
  const { attestation, service, binding } = a;
  return {
    document: {
      moduleId: attestation.moduleId,
      timestamp: new Date(attestation.timestamp).toISOString(),
      age: `${formatDuration(t - attestation.timestamp)} old`,
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
      const diffAt = status === 'mismatch' && want !== null ? firstDifference(value.toLowerCase(), want) : null;
      return { index, value, expected: want, status, statusText: STATUS_TEXT[status], zero: /^0+$/.test(value), folded: status === 'not-in-policy', diffAt };
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
    maxAge: formatDuration(policy.maxAgeSeconds * 1000),
    pinned,
    note: pinned === 0 ? 'This policy pins no PCR: any code running in a genuine enclave is accepted. Pin PCR0–PCR2 in blindbox.policy to accept only your build.' : null,
  };
}

export { relativeAge };

export function timeView(at: number, now: number): TimeView {
  return { at, utc: new Date(at).toISOString(), relative: relativeAge(now - at) };
}

function enclaveView(e: AttestedEnclave, t: number): EnclaveView {
  const f = enclaveFacts(e, t);
  return { moduleId: f.moduleId, pcr0: f.pcr0, pcr0Prefix: f.pcr0Prefix, keySha256: f.key, keyPrefix: f.keyPrefix, verified: timeView(f.verifiedAt, t), root: e.attestation.root.label, simulation: e.simulation };
}
