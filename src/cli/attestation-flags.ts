/**
 * The flags every command that checks attestations takes: which roots to trust, which policy to enforce, how to print
 * (`verify`, `transcribe`, and offline `verify-receipt`, `verify-evidence`), and for a live server how long to wait;
 * declared once and turned into the core's options here.
 */
import { DEFAULT_POLICY, loadPolicyFile, type AttestationPolicy, type ConnectOptions, type TrustedRoot } from '../core/index.js';
import { asUsage, parsePcrArgs, parseSeconds, trustedRoots, UsageError } from './args.js';

/** `parseArgs` options of the commands that check a document offline. */
export const trustFlags = {
  'trust-root': { type: 'string', multiple: true },
  policy: { type: 'string' },
  pcr: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
} as const;

/** `parseArgs` options shared by `verify` and `transcribe`. */
export const attestationFlags = { ...trustFlags, timeout: { type: 'string' } } as const;

/** What the trust flags say: the roots, the policy, and whether the user gave any PCR expectation (`--policy` or `--pcr`). */
export interface TrustChoice {
  readonly roots: TrustedRoot[];
  readonly policy: AttestationPolicy;
  readonly pcrsGiven: boolean;
}

/** `--trust-root`, `--policy` and `--pcr`; `--pcr` adds to (and overrides) the policy's PCRs. */
export async function trustOptions(values: { 'trust-root'?: string[]; policy?: string; pcr?: string[] }): Promise<TrustChoice> {
  const fromFile = values.policy ? await asUsage(loadPolicyFile(values.policy)) : { policy: DEFAULT_POLICY, roots: [] };
  const roots = [...(await trustedRoots(values['trust-root'])), ...fromFile.roots];
  // Both sides hold only canonical indices (parsePolicy and parsePcrArgs refuse others), so a --pcr replaces the file's entry for the same PCR.
  const policy = { ...fromFile.policy, pcrs: { ...fromFile.policy.pcrs, ...parsePcrArgs(values.pcr) } };
  return { roots, policy, pcrsGiven: values.policy !== undefined || (values.pcr?.length ?? 0) > 0 };
}

/** The trust flags and `--timeout` into what `connect` takes. */
export async function connectOptions(values: { 'trust-root'?: string[]; policy?: string; pcr?: string[]; timeout?: string }): Promise<ConnectOptions & { policy: AttestationPolicy }> {
  const timeoutMs = parseSeconds('--timeout', values.timeout);
  if (timeoutMs === 0) throw new UsageError('--timeout must be more than 0 seconds');
  const { roots, policy } = await trustOptions(values);
  return { roots, policy, timeoutMs };
}
