/**
 * The few facts every trust surface says the same way (status bar tooltip, BlindBox view, attestation view): how a
 * policy reads, and what identifies one enclave. Pure, and light enough for the entry bundle (no core at run time).
 */
import type { AttestedEnclave } from '../../core/transport/attested-enclave.js';
import { formatDuration } from '../../core/util/format-duration.js';
import { oneLine } from '../../shared/text.js';
import type { PolicyInfo } from './trust-state.js';

/** The warning every surface gives for a policy that pins nothing. */
export const NO_PCR_PINNED = 'no PCR pinned: any code is accepted';

/** "production · 3 PCRs pinned", or "default · no PCR pinned: any code is accepted". */
/** A policy's name as the short surfaces show it (it comes from a settings or policy file): escaped, one line. */
export function policyLabel(policy: Pick<PolicyInfo, 'name'>): string {
  return oneLine(policy.name, 80);
}

export function policySummary(policy: PolicyInfo): string {
  const pinned = Object.keys(policy.pcrs).length;
  return `${policyLabel(policy)} · ${pinned === 0 ? NO_PCR_PINNED : `${pinned} PCR${pinned === 1 ? '' : 's'} pinned`}`;
}

/** What tells one enclave of a fleet from another, as shown in lists. */
export interface EnclaveFacts {
  readonly moduleId: string;
  readonly pcr0: string;
  /** The first 16 hex digits and an ellipsis, or "(absent)". */
  readonly pcr0Prefix: string;
  /** SHA-256 of the attested TLS key (the channel's identity). */
  readonly key: string;
  readonly keyPrefix: string;
  /** Since this enclave's own verification. */
  readonly age: string;
  readonly verifiedAt: number;
}

export function enclaveFacts(enclave: AttestedEnclave, now: number): EnclaveFacts {
  const { attestation, binding } = enclave;
  const pcr0 = attestation.pcrs[0] ?? '';
  return {
    moduleId: oneLine(attestation.moduleId, 120),
    pcr0,
    pcr0Prefix: prefix(pcr0),
    key: binding.attestedKeySha256,
    keyPrefix: prefix(binding.attestedKeySha256),
    age: formatDuration(now - attestation.verifiedAt),
    verifiedAt: attestation.verifiedAt,
  };
}

/**
 * The one sentence every surface says of an enclave reached through TLS that a middlebox terminates (the user allowed
 * it, `blindbox.allowInspectedTls`); undefined for a channel bound to the enclave.
 */
export function inspectionSentence(enclaves: readonly AttestedEnclave[]): string | undefined {
  const issuer = enclaves.find((e) => e.binding.inspectedBy)?.binding.inspectedBy?.issuer;
  return issuer === undefined ? undefined : `TLS inspected by “${oneLine(issuer, 200)}”; audio end-to-end encrypted to the enclave (sealed to the HPKE key its attestation binds).`;
}

function prefix(hex: string): string {
  return hex ? `${hex.slice(0, 16)}…` : '(absent)';
}

/** "just now", "42 s ago", "3 min ago", "2 h 5 min ago" (in the past; a clock skew reads as "just now"). */
export function relativeAge(ms: number): string {
  return ms < 5000 ? 'just now' : `${formatDuration(ms)} ago`;
}
