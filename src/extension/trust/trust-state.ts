/**
 * What the extension knows about the configured server's trustworthiness: one value, owned by the `TrustController`
 * and only rendered by the status bar, the attestation view and the evidence export. The policy a result was checked
 * against travels inside it, so no renderer guesses one.
 */
import type { AttestationPolicy } from '../../core/policy.js';
import type { AttestedEnclave } from '../../core/transport/attested-enclave.js';
import type { ProxyRoute } from '../../core/transport/proxy-route.js';
import type { Failure } from '../common/failure.js';
import type { ExtensionSettings } from '../settings/model.js';

/** The policy as the UI shows it, with where it came from. */
export interface PolicyInfo extends AttestationPolicy {
  /** `settings (blindbox.policy)`, a policy file path, or `built-in default`. */
  readonly source: string;
}

/** At least one: a verified state always names the enclave(s) it verified. */
export type Enclaves = readonly [AttestedEnclave, ...AttestedEnclave[]];

export type TrustState =
  /** No server URL is set; `policy` is the one the settings name, when it is not in a file (not read yet). */
  | { readonly kind: 'unconfigured'; readonly policy?: PolicyInfo }
  /** A server is set but has not been attested yet. */
  | { readonly kind: 'unverified'; readonly server: string; readonly policy?: PolicyInfo }
  /** Attesting; `policy` is the last one known, shown meanwhile. */
  | { readonly kind: 'verifying'; readonly server: string; readonly policy?: PolicyInfo }
  /**
   * Attested under `policy`. Every enclave behind `server` that audio may reach, each with its own verification time
   * (today one; a fleet behind a load balancer is several). `simulation` on an enclave tells a simulation root from AWS's.
   * `route`: how the session's connections go (direct or through which proxy), when a live session is shown.
   */
  | { readonly kind: 'verified'; readonly server: string; readonly policy: PolicyInfo; readonly enclaves: Enclaves; readonly route?: ProxyRoute }
  /**
   * Refused. `policy` is undefined when the settings or the policy file could not be read. `observed` is set only for
   * PCR_MISMATCH: the same server attested again with no PCR expectations (authentic document, measurements shown
   * for diagnosis, never used to send anything). `whileSending` is set when the failure came during a transcription
   * (the server stopped answering or proving itself): audio sent before it may have been transcribed.
   */
  | {
      readonly kind: 'failed';
      readonly server: string | undefined;
      readonly policy: PolicyInfo | undefined;
      readonly failure: Failure;
      readonly at: number;
      readonly observed?: AttestedEnclave;
      readonly whileSending?: true;
    };

export type TrustKind = TrustState['kind'];

/** The enclave the UI describes first (the only one today). */
export function primaryEnclave(state: Extract<TrustState, { kind: 'verified' }>): AttestedEnclave {
  return state.enclaves[0];
}

/** The oldest verification among the enclaves: trust is as old as its oldest proof. */
export function oldestVerification(enclaves: Enclaves): number {
  return Math.min(...enclaves.map((e) => e.attestation.verifiedAt));
}

/** A state is SIMULATION as soon as one of its enclaves chains to a simulation root. */
export function isSimulation(enclaves: Enclaves): boolean {
  return enclaves.some((e) => e.simulation);
}

/**
 * The policy the settings name without reading any file: `blindbox.policy` (or the default), or undefined when a
 * policy file replaces it (its contents are known only once read, by `loadTrust`).
 */
export function knownPolicy(settings: Pick<ExtensionSettings, 'policy' | 'policyFile'>): PolicyInfo | undefined {
  return settings.policyFile ? undefined : settings.policy;
}
