/**
 * The flags every command that checks attestations takes: which roots to trust, which policy to enforce, how to print
 * (`verify`, `transcribe`, and offline `verify-receipt`, `verify-evidence`), and for a live server how long to wait;
 * declared once in commands.ts and turned into the core's options here.
 */
import { X509Certificate } from 'node:crypto';
import { DEFAULT_POLICY, loadPolicyFile, loadRootFile, MAX_MAX_AGE_SECONDS, type AttestationPolicy } from '../core/policy.js';
import type { ConnectOptions, TrustedRoot } from '../core/index.js';
import { parseProxyUrl } from '../core/transport/proxy-route.js';
import { parseSeconds, UsageError } from './args.js';
import { asUsage, parsePcrArgs, trustedRoots } from './client-args.js';

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

/**
 * `--proxy` / `--no-proxy` and this process's environment (HTTPS_PROXY, NO_PROXY) into the core's proxy options: the
 * route itself is decided by the core (proxy-route.ts), by VS Code's rules.
 */
export function proxyOptions(values: { proxy?: string; 'no-proxy'?: boolean }, environment: NodeJS.ProcessEnv = process.env): Pick<ConnectOptions, 'proxy' | 'environment'> {
  if (values.proxy !== undefined && values['no-proxy']) throw new UsageError('--proxy and --no-proxy contradict each other: give one');
  if (values['no-proxy']) return { proxy: { proxySupport: 'off' }, environment };
  if (values.proxy === undefined) return { environment };
  if (!values.proxy.includes('://')) throw new UsageError(`--proxy ${JSON.stringify(values.proxy)} is not a URL: give http://host:port`);
  // A flag the user typed is checked now, before any file is read or sent.
  try {
    parseProxyUrl(values.proxy, '--proxy');
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  return { proxy: { proxy: values.proxy }, environment };
}

/**
 * `--allow-inspected-tls` and `--inspection-ca` into the core's options. A CA without the permission would do
 * nothing, and is refused so that nobody believes it did.
 */
export async function inspectionOptions(values: { 'allow-inspected-tls'?: boolean; 'inspection-ca'?: string[] }): Promise<Pick<ConnectOptions, 'allowInspectedTls' | 'inspectionCas'>> {
  const cas = values['inspection-ca'] ?? [];
  if (cas.length > 0 && !values['allow-inspected-tls']) throw new UsageError('--inspection-ca is only used with --allow-inspected-tls: give both, or neither');
  if (!values['allow-inspected-tls']) return {};
  const roots = (await Promise.all(cas.map((file) => asUsage(loadRootFile(file))))).flat();
  return { allowInspectedTls: true, inspectionCas: roots.map((root) => new X509Certificate(root.der).toString()) };
}

/** The trust flags, `--max-age`, `--timeout` and the proxy flags into what `connect` takes. */
export async function connectOptions(values: { 'trust-root'?: string[]; policy?: string; pcr?: string[]; 'max-age'?: string; timeout?: string; proxy?: string; 'no-proxy'?: boolean }): Promise<ConnectOptions & { policy: AttestationPolicy }> {
  const timeoutMs = parseSeconds('--timeout', values.timeout);
  if (timeoutMs === 0) throw new UsageError('--timeout must be more than 0 seconds');
  const maxAgeMs = parseSeconds('--max-age', values['max-age']);
  if (maxAgeMs === 0) throw new UsageError('--max-age must be more than 0 seconds');
  if (maxAgeMs !== undefined && maxAgeMs > MAX_MAX_AGE_SECONDS * 1000) throw new UsageError(`--max-age may be at most ${MAX_MAX_AGE_SECONDS} seconds (one day)`);
  const { roots, policy } = await trustOptions(values);
  return { roots, policy: maxAgeMs === undefined ? policy : { ...policy, maxAgeSeconds: maxAgeMs / 1000 }, timeoutMs, ...proxyOptions(values) };
}
