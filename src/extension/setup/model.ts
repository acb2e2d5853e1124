/**
 * The decisions of *BlindBox: Configure Server…* without `vscode`: what an answer means, what is refused and why, and
 * which values the settings get. configure-server.ts asks the questions and writes the answers; this module (loaded
 * lazily with the core, through services.ts) is unit-tested.
 *
 * Everything it writes is inline (PEM text in `blindbox.trustedRoots`, the policy object in `blindbox.policy`): the
 * trust settings are application-scoped, shared by every window, local or remote, where a path names a file on one
 * host only.
 */
import { X509Certificate } from 'node:crypto';
import { normalisePcrPolicy } from '../../core/attestation/policy.js';
import { trustedRootsFromPem, type TrustedRoot } from '../../core/attestation/roots.js';
import { InputError } from '../../core/errors.js';
import type { AttestationPolicy } from '../../core/policy.js';
import { oneLine } from '../../shared/text.js';
import { isInlinePem, parseServerUrl, SettingsError, type RawSettings } from '../settings/model.js';
import { policySummary } from '../trust/summary.js';
import type { PolicyInfo, TrustState } from '../trust/trust-state.js';

/** Why `text` is not a server URL the settings accept (the setting's own rule), or undefined when it is one. */
export function serverUrlProblem(text: string): string | undefined {
  if (!text.trim()) return 'Enter the server, e.g. https://enclave.example.com:8443';
  try {
    parseServerUrl(text);
    return undefined;
  } catch (err) {
    if (err instanceof SettingsError) return err.message.replace(/^blindbox\.serverUrl: /, '');
    throw err;
  }
}

/** Root certificates the user offered, as the verifier will match them. */
export interface RootCandidate {
  readonly roots: readonly TrustedRoot[];
  /** The certificates other than AWS's Nitro Enclaves Root G1 (those make every result SIMULATION). */
  readonly simulation: readonly { readonly subject: string; readonly sha256: string }[];
  /** PEM text of each certificate, to store inline. */
  readonly pems: readonly string[];
}

/** Reads offered PEM text; throws `InputError` `INVALID_ROOT` naming `label` when it holds no valid certificate. */
export function rootCandidate(pem: string, label: string): RootCandidate {
  const roots = trustedRootsFromPem(pem, label);
  return Object.freeze({
    roots,
    simulation: roots.filter((r) => !r.isAwsNitroRoot).map((r) => ({ subject: oneLine(new X509Certificate(r.der).subject, 200), sha256: r.sha256 })),
    pems: roots.map((r) => derToPem(r.der)),
  });
}

/** The loud explanation shown (modal) before a simulation root is trusted. */
export function simulationWarning(candidate: RootCandidate): string {
  const which = candidate.simulation.map((c) => `“${c.subject}” (SHA-256 ${c.sha256.slice(0, 16)}…)`).join(', ');
  return [
    `SIMULATION — NOT CONFIDENTIAL. ${which} ${candidate.simulation.length === 1 ? 'is' : 'are'} not AWS's Nitro Enclaves Root G1.`,
    'An attestation that chains to such a root proves nothing about hardware: whoever holds its private key (for `blindbox serve --simulate`, the machine running it) can sign documents for any code and read your audio.',
    'Trust it only to test a simulation server. The status bar, the attestation view and every transcript will then say SIMULATION — not confidential.',
  ].join('\n\n');
}

/** `blindbox.trustedRoots` with `pems` added: entries already there (same certificate) are not repeated. */
export function withRoots(existing: unknown, pems: readonly string[]): string[] {
  const list = Array.isArray(existing) ? existing.filter((e): e is string => typeof e === 'string') : [];
  const known = new Set(list.filter(isInlinePem).flatMap((p) => safeFingerprints(p)));
  const added = pems.filter((p) => !safeFingerprints(p).every((f) => known.has(f)));
  return [...list, ...added];
}

function safeFingerprints(pem: string): string[] {
  try {
    return trustedRootsFromPem(pem, 'entry').map((r) => r.sha256);
  } catch (err) {
    if (err instanceof InputError) return [];
    throw err;
  }
}

/** Why `hex` is not a PCR0 value the policy accepts, or undefined. */
export function pcr0Problem(hex: string): string | undefined {
  if (!hex.trim()) return 'Enter PCR0 as hex (96 hex digits for SHA-384), as `nitro-cli describe-eif` or `blindbox verify` prints it';
  try {
    normalisePcrPolicy({ 0: hex.trim() });
    return undefined;
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
}

/** The inline policy (`blindbox.policy`) that pins PCR0 to `hex`, named after the server's host. */
export function pinnedPolicy(serverUrl: string, hex: string): { readonly name: string; readonly pcrs: { readonly '0': string } } {
  return { name: new URL(serverUrl).hostname, pcrs: { '0': hex.trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '') } };
}

/**
 * The inline policy after *Pin the server's PCR…*: the policy in force with PCR `index` set to `hex` (its other pins and
 * maximum age kept); the built-in default (or none) becomes the host-named policy *Configure Server… › Pin PCR0* writes.
 */
export function repinnedPolicy(policy: PolicyInfo | undefined, serverUrl: string, index: number, hex: string): { readonly name: string; readonly pcrs: Readonly<Record<string, string>>; readonly maxAgeSeconds?: number } {
  const value = pinnedPolicy(serverUrl, hex).pcrs['0'];
  if (!policy || policy.source === 'built-in default') return { name: new URL(serverUrl).hostname, pcrs: { [String(index)]: value } };
  return { name: policy.name, pcrs: { ...Object.fromEntries(Object.entries(policy.pcrs).map(([k, v]) => [String(k), v])), [String(index)]: value }, maxAgeSeconds: policy.maxAgeSeconds };
}

/** A policy file's contents as the inline `blindbox.policy` object (its roots go to `blindbox.trustedRoots`). */
export function inlinePolicy(policy: AttestationPolicy): { readonly name: string; readonly pcrs: Readonly<Record<string, string>>; readonly maxAgeSeconds: number } {
  return { name: policy.name, pcrs: { ...policy.pcrs }, maxAgeSeconds: policy.maxAgeSeconds };
}

/** DER → PEM, 64 characters a line. */
export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/**
 * The policy the user's settings name, as *Configure Server…* offers to keep it: the one the trust state was checked
 * against, else what the raw settings name; undefined when none is set.
 */
export function configuredPolicyLabel(state: TrustState, raw: RawSettings): string | undefined {
  if (state.policy && state.policy.source !== 'built-in default') return policySummary(state.policy);
  if (typeof raw.policyFile === 'string' && raw.policyFile.trim()) return `policy file ${oneLine(raw.policyFile, 200)}`;
  if (raw.policy && typeof raw.policy === 'object' && Object.keys(raw.policy).length > 0) return 'blindbox.policy in your user settings';
  return undefined;
}
