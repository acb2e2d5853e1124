/** The extension's view of "what do we know about the server", shared by the status bar, the webview and the evidence file. */
import type { AttestationPolicy } from '../core/policy.js';
import type { Attested } from '../core/transport/session.js';
import type { Failure } from './failure.js';

export type AttestationResult =
  /** No server URL is set. */
  | { readonly kind: 'unconfigured' }
  /** A server is set but has not been attested yet. */
  | { readonly kind: 'unverified'; readonly server: string }
  | { readonly kind: 'verifying'; readonly server: string }
  /** Attested under the policy; `attested.simulation` tells a simulation root from AWS's. */
  | { readonly kind: 'verified'; readonly server: string; readonly attested: Attested }
  /**
   * Refused. `observed` is set only for PCR_MISMATCH: the same server attested
   * again with no PCR expectations (authentic document, measurements shown for
   * diagnosis, never used to send anything).
   */
  | { readonly kind: 'failed'; readonly server: string | undefined; readonly failure: Failure; readonly at: number; readonly observed?: Attested };

export type AttestationKind = AttestationResult['kind'];

/** The policy as the UI shows it, with where it came from. */
export interface PolicyInfo extends AttestationPolicy {
  /** `settings (blindbox.policy)`, a policy file path, or `built-in default`. */
  readonly source: string;
}
