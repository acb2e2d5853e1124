/**
 * The attestation policy: which measurements are acceptable, how long an
 * attestation stays good, and which extra roots are trusted. Also its small
 * JSON file format: {"name", "pcrs": {"0": hex, …}, "maxAgeSeconds", "roots": [pem paths]}.
 */
import path from 'node:path';
import { normalisePcrPolicy, type PcrPolicy } from './attestation/policy.js';
import { InputError } from './errors.js';
import { trustedRootsFromPem, type TrustedRoot } from './attestation/roots.js';
import { readFileCapped } from './util/read-capped.js';
import { withoutBom } from '../shared/text.js';

export interface AttestationPolicy {
  /** Shown to people ("production", "staging"…). */
  readonly name: string;
  /** PCRs that must match exactly (index → hex); empty means "any code", which the UI must say. */
  readonly pcrs: PcrPolicy;
  /** How long an attestation is trusted before the client attests again. */
  readonly maxAgeSeconds: number;
}

/** Ten minutes: long enough for a long upload, short enough that a replaced server is noticed soon. */
export const DEFAULT_MAX_AGE_SECONDS = 600;

/**
 * The longest `maxAgeSeconds` accepted: one day. Beyond it an attestation is hardly renewed at all, and a value
 * such as 1e306 would overflow to Infinity once in milliseconds, meaning "never attest again".
 */
export const MAX_MAX_AGE_SECONDS = 86_400;

export const DEFAULT_POLICY: AttestationPolicy = Object.freeze({ name: 'default', pcrs: Object.freeze({}), maxAgeSeconds: DEFAULT_MAX_AGE_SECONDS });

/** A policy from its JSON shape; throws `InputError` `INVALID_POLICY` naming `source` and the bad field. */
export function parsePolicy(value: unknown, source: string): AttestationPolicy & { readonly rootPaths: readonly string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidPolicy(source, 'a policy must be a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!['name', 'pcrs', 'maxAgeSeconds', 'roots'].includes(key)) throw invalidPolicy(source, `unknown policy field ${JSON.stringify(key)}`);
  }
  const name = v.name ?? path.basename(source);
  if (typeof name !== 'string' || name.length === 0) throw invalidPolicy(source, '"name" must be a non-empty string');
  const pcrs = v.pcrs ?? {};
  if (typeof pcrs !== 'object' || pcrs === null || Array.isArray(pcrs) || !Object.values(pcrs).every((x) => typeof x === 'string')) {
    throw invalidPolicy(source, '"pcrs" must map PCR indices to hex strings');
  }
  try {
    normalisePcrPolicy(pcrs as PcrPolicy);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw invalidPolicy(source, err.message, err);
  }
  const maxAgeSeconds = checkMaxAgeSeconds(v.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS, source);
  const roots = v.roots ?? [];
  if (!Array.isArray(roots) || !roots.every((r) => typeof r === 'string')) throw invalidPolicy(source, '"roots" must be a list of PEM file paths');
  return Object.freeze({ name, pcrs: Object.freeze({ ...(pcrs as PcrPolicy) }), maxAgeSeconds, rootPaths: Object.freeze([...roots]) });
}

/** `maxAgeSeconds` itself: a positive number of seconds, at most a day; throws `INVALID_POLICY` naming `source`. */
export function checkMaxAgeSeconds(value: unknown, source: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw invalidPolicy(source, '"maxAgeSeconds" must be a positive number');
  if (value > MAX_MAX_AGE_SECONDS) throw invalidPolicy(source, `"maxAgeSeconds" is ${value}, more than the ${MAX_MAX_AGE_SECONDS} s (one day) allowed`);
  return value;
}

/** Largest policy file read: a policy is a few hundred bytes; /dev/zero must not be read until memory runs out. */
export const MAX_POLICY_FILE_BYTES = 64 * 1024;
/** Largest root PEM file read: dozens of certificates. */
export const MAX_ROOT_FILE_BYTES = 64 * 1024;

/** Reads a policy file; root paths are relative to the file. Throws `InputError` on any problem: the file's, the policy's or a root file's. */
export async function loadPolicyFile(file: string): Promise<{ policy: AttestationPolicy; roots: TrustedRoot[] }> {
  const text = (await readFileCapped(file, MAX_POLICY_FILE_BYTES, 'policy file')).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(withoutBom(text));
  } catch {
    throw new InputError('INVALID_POLICY', `the policy file ${JSON.stringify(file)} is not valid JSON`);
  }
  const { rootPaths, ...policy } = parsePolicy(json, file);
  const roots = await Promise.all(rootPaths.map((p) => loadRootFile(path.resolve(path.dirname(file), p))));
  return { policy, roots: roots.flat() };
}

/** Trust anchors from a PEM file the user chose; throws `InputError` (`INVALID_ROOT` or a file code) naming the file. */
export async function loadRootFile(file: string): Promise<TrustedRoot[]> {
  const pem = (await readFileCapped(file, MAX_ROOT_FILE_BYTES, 'root certificate file')).toString('utf8');
  try {
    return trustedRootsFromPem(pem, file);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError('INVALID_ROOT', `the root certificate file ${JSON.stringify(file)} holds no valid PEM certificate`, { cause: err });
  }
}

/** `source: detail` as an `INVALID_POLICY`: every policy message names where the policy came from. */
function invalidPolicy(source: string, detail: string, cause?: unknown): InputError {
  return new InputError('INVALID_POLICY', `${source}: ${detail}`, { cause });
}
