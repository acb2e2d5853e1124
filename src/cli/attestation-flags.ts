/**
 * The flags every command that attests a live server takes (`verify`, `transcribe`): which roots to trust, which
 * policy to enforce, how long to wait, and how to print; declared once and turned into `connect`'s options here.
 */
import { DEFAULT_POLICY, loadPolicyFile, type AttestationPolicy, type ConnectOptions } from '../core/index.js';
import { asUsage, parsePcrArgs, parseSeconds, trustedRoots, UsageError } from './args.js';

/** `parseArgs` options shared by `verify` and `transcribe`. */
export const attestationFlags = {
  'trust-root': { type: 'string', multiple: true },
  policy: { type: 'string' },
  pcr: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** `--trust-root`, `--policy`, `--pcr` and `--timeout` into what `connect` takes; `--pcr` adds to (and overrides) the policy's PCRs. */
export async function connectOptions(values: { 'trust-root'?: string[]; policy?: string; pcr?: string[]; timeout?: string }): Promise<ConnectOptions & { policy: AttestationPolicy }> {
  const timeoutMs = parseSeconds('--timeout', values.timeout);
  if (timeoutMs === 0) throw new UsageError('--timeout must be more than 0 seconds');
  const fromFile = values.policy ? await asUsage(loadPolicyFile(values.policy)) : { policy: DEFAULT_POLICY, roots: [] };
  const roots = [...(await trustedRoots(values['trust-root'])), ...fromFile.roots];
  // Both sides hold only canonical indices (parsePolicy and parsePcrArgs refuse others), so a --pcr replaces the file's entry for the same PCR.
  const policy = { ...fromFile.policy, pcrs: { ...fromFile.policy.pcrs, ...parsePcrArgs(values.pcr) } };
  return { roots, policy, timeoutMs };
}
