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
import { rootKind, trustedRootsFromPem, type TrustedRoot } from '../../core/attestation/roots.js';
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

/** The loud explanation shown (modal) before a simulation root is trusted. Plain text: a dialog renders no markdown. */
export function simulationWarning(candidate: RootCandidate): string {
  const which = candidate.simulation.map((c) => `“${c.subject}” (SHA-256 ${c.sha256.slice(0, 16)}…)`).join(', ');
  return [
    `SIMULATION — NOT CONFIDENTIAL. ${which} ${candidate.simulation.length === 1 ? 'is' : 'are'} not AWS's Nitro Enclaves Root G1.`,
    'An attestation that chains to such a root proves nothing about hardware: whoever holds its private key (for blindbox serve --simulate, the machine running it) can sign documents for any code and read your audio.',
    'Trust it only to test a simulation server. The status bar, the attestation view and every transcript will then say SIMULATION — not confidential.',
  ].join('\n\n');
}

/** The root a CHAIN_UNTRUSTED failure carried (the argument *Trust a Root…* is given), as a candidate; else undefined. */
export function presentedRoot(arg: unknown): RootCandidate | undefined {
  const der = (arg as { der?: unknown } | null | undefined)?.der;
  return der instanceof Uint8Array ? rootCandidate(derToPem(der), "the server's root") : undefined;
}

/** What replacing the trusted BlindBox simulation root(s) with a new one writes, and what it removes. */
export interface SimulationReplacement {
  /** The new `blindbox.trustedRoots`: every entry that is not a BlindBox simulation root kept, the new root added. */
  readonly list: string[];
  /** The simulation roots taken out (subject and SHA-256). */
  readonly removed: readonly { readonly subject: string; readonly sha256: string }[];
  readonly added: { readonly subject: string; readonly sha256: string };
}

/**
 * Replacing, not adding, when `candidate` is a BlindBox simulation root and `existing` (`blindbox.trustedRoots`) trusts
 * another one: a `serve --simulate` restarted without `--ca` has a new root, and the old one trusts nothing any more.
 * Undefined otherwise (then the root is added as any other). Only inline BlindBox simulation roots are taken out (the
 * core's `rootKind` says which); AWS's root, other roots and paths stay.
 */
export function simulationReplacement(existing: unknown, candidate: RootCandidate): SimulationReplacement | undefined {
  const fresh = candidate.roots.filter((r) => rootKind(r.der) === 'blindbox-simulation');
  if (fresh.length !== 1) return undefined;
  const added = fresh[0]!;
  const list = Array.isArray(existing) ? existing.filter((e): e is string => typeof e === 'string') : [];
  const removed: TrustedRoot[] = [];
  const kept = list.flatMap((entry) => {
    if (!isInlinePem(entry)) return [entry];
    const roots = safeRoots(entry);
    const old = roots.filter((r) => rootKind(r.der) === 'blindbox-simulation');
    if (old.length === 0) return [entry];
    removed.push(...old.filter((r) => r.sha256 !== added.sha256));
    return roots.filter((r) => rootKind(r.der) !== 'blindbox-simulation').map((r) => derToPem(r.der));
  });
  if (removed.length === 0) return undefined;
  return Object.freeze({ list: [...kept, derToPem(added.der)], removed: removed.map(described), added: described(added) });
}

function described(root: TrustedRoot): { readonly subject: string; readonly sha256: string } {
  return { subject: oneLine(new X509Certificate(root.der).subject.replaceAll('\n', ', '), 200), sha256: root.sha256 };
}

/** The confirmation shown (modal) before the old simulation root(s) are replaced. Plain text. */
export function replacementWarning(replacement: SimulationReplacement): string {
  const short = (sha256: string) => `SHA-256 ${sha256.slice(0, 16)}…`;
  return [
    `The server now presents a new BlindBox SIMULATION root (${short(replacement.added.sha256)}); ${replacement.removed.length === 1 ? 'the one you trust' : `the ${replacement.removed.length} you trust`} (${replacement.removed.map((r) => short(r.sha256)).join(', ')}) no longer signs anything. A blindbox serve --simulate started without --ca makes a new root every time: start it with --ca <dir> to keep one.`,
    'Replacing takes the old simulation root out of blindbox.trustedRoots and trusts the new one. AWS\'s root and any other root stay.',
    'SIMULATION — NOT CONFIDENTIAL: whoever runs that server can read your audio.',
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
  return safeRoots(pem).map((r) => r.sha256);
}

function safeRoots(pem: string): TrustedRoot[] {
  try {
    return trustedRootsFromPem(pem, 'entry');
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
