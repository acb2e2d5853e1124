/**
 * The extension's settings, read and validated without `vscode` (reader.ts
 * hands the raw values over), so that every rule is unit-tested. A bad value
 * is a `SettingsError` naming the setting; nothing falls back silently to a
 * weaker choice.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { parseServerOrigin, serverOriginProblem } from '../../core/transport/server-origin.js';
import { trustedRootsFromPem, type TrustedRoot } from '../../core/attestation/roots.js';
import { parsePolicy, type AttestationPolicy } from '../../core/policy.js';
import { parseProxyUrl, type ProxyEnvironment, type ProxySettings, type ProxySupport } from '../../core/transport/proxy-route.js';
import { oneLine } from '../../shared/text.js';
import { ExtensionError } from '../common/errors.js';
import { SETTING_KEYS, type SettingName } from '../ids.js';
import type { PolicyInfo } from '../trust/trust-state.js';
import { PROXY_SETTING_KEYS, type ProxySettingName } from './scope.js';

export { SETTING_KEYS, type SettingName } from '../ids.js';
export { TRUST_SETTINGS, PROXY_SETTING_KEYS } from './scope.js';

/** Formats of the transcript document. */
export const DOCUMENT_FORMATS = ['text', 'markdown', 'srt', 'vtt'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
export const DEFAULT_CONCURRENCY = 2;
export const MAX_CONCURRENCY = 8;
const MAX_REQUEST_TIMEOUT_SECONDS = 3600;

/**
 * The raw values as VS Code returns them (anything, since settings.json is hand-edited): BlindBox's settings, VS
 * Code's proxy settings, and the extension host's proxy variables (`environment`).
 */
export type RawSettings = { readonly [K in SettingName | ProxySettingName]?: unknown } & { readonly environment?: ProxyEnvironment };

export interface ExtensionSettings {
  /** The server's origin (`https://host:port`), or undefined when not set. */
  readonly serverUrl: string | undefined;
  /** The policy from `blindbox.policy` (or the built-in default); unused when `policyFile` is set. */
  readonly policy: PolicyInfo;
  /** Absolute path of a policy file, which then replaces `policy`. */
  readonly policyFile: string | undefined;
  /** Absolute paths of extra trusted root PEM files (the `blindbox.trustedRoots` entries that are paths). */
  readonly trustedRoots: readonly string[];
  /**
   * Roots pasted into `blindbox.trustedRoots` as PEM text: they work in every window, local or remote, where a path
   * names a file on one host only. Already parsed (a bad one is a `SettingsError` here).
   */
  readonly inlineRoots: readonly TrustedRoot[];
  /** Send audio through TLS a middlebox terminates, sealed to the enclave's attested HPKE key (core `allowInspectedTls`). */
  readonly allowInspectedTls: boolean;
  readonly transcriptFormat: DocumentFormat;
  readonly requestTimeoutMs: number;
  /** Files of a batch transcribed at once, each on its own attested connection. */
  readonly concurrency: number;
  /** The language asked of the server (`en`, `pt-BR`); undefined for `auto` (the engine's own or detected). */
  readonly transcriptLanguage: string | undefined;
  /** Write `speech.transcript.<ext>` beside the audio (asking before replacing) instead of opening an untitled document. */
  readonly saveNextToAudio: boolean;
  /** One file opened as an untitled document fills in as the server decodes it (a stream), its header once the receipt verified. */
  readonly transcriptStream: boolean;
  /** VS Code's `http.proxy`, `http.noProxy`, `http.proxySupport`, `http.proxyAuthorization`: with `proxyEnvironment`, they decide the route. */
  readonly proxy: ProxySettings;
  /** The extension host's HTTPS_PROXY / NO_PROXY (and their variants); the settings win over them. */
  readonly proxyEnvironment: ProxyEnvironment;
}

/** A setting has a value the extension refuses; `setting` is its full key. */
export class SettingsError extends ExtensionError {
  readonly setting: string;
  constructor(setting: SettingName | ProxySettingName, message: string) {
    const key = Object.hasOwn(PROXY_SETTING_KEYS, setting) ? PROXY_SETTING_KEYS[setting as ProxySettingName] : SETTING_KEYS[setting as SettingName];
    super('SETTINGS_INVALID', `${key}: ${message}`);
    this.name = 'SettingsError';
    this.setting = key;
  }
}

/** Validates raw settings; `home` expands a leading `~` in paths. Throws `SettingsError`. */
export function parseSettings(raw: RawSettings, home: string): ExtensionSettings {
  const policyFile = optionalPath(raw.policyFile, 'policyFile', home);
  const policy = parseSettingsPolicy(raw.policy);
  if (policyFile !== undefined && policy.source !== DEFAULT_POLICY_SOURCE) {
    throw new SettingsError('policyFile', `set either ${SETTING_KEYS.policy} or ${SETTING_KEYS.policyFile}, not both`);
  }
  return Object.freeze({
    serverUrl: parseServerUrl(raw.serverUrl),
    policy,
    policyFile,
    ...parseRoots(raw.trustedRoots, home),
    allowInspectedTls: parseBoolean(raw.allowInspectedTls, 'allowInspectedTls'),
    transcriptFormat: parseFormat(raw.transcriptFormat),
    requestTimeoutMs: parseTimeout(raw.requestTimeoutSeconds) * 1000,
    concurrency: parseConcurrency(raw.concurrency),
    transcriptLanguage: parseLanguage(raw.transcriptLanguage),
    saveNextToAudio: parseBoolean(raw.saveNextToAudio, 'saveNextToAudio'),
    transcriptStream: parseBoolean(raw.transcriptStream, 'transcriptStream', true),
    proxy: parseProxySettings(raw),
    proxyEnvironment: Object.freeze({ ...raw.environment }),
  });
}

const PROXY_SUPPORT: readonly ProxySupport[] = ['off', 'on', 'override', 'fallback'];

/**
 * VS Code's proxy settings. A proxy that is set must be an `http://` URL: a value VS Code would ignore (no scheme) is
 * refused rather than silently going around the proxy the user meant.
 */
export function parseProxySettings(raw: RawSettings): ProxySettings {
  const proxy = optionalText(raw.proxy, 'proxy', 'must be a URL such as "http://proxy.example:3128"');
  if (proxy !== undefined) {
    if (!proxy.includes('://')) throw new SettingsError('proxy', `${JSON.stringify(proxy)} is not a URL: give http://host:port`);
    try {
      parseProxyUrl(proxy, 'the proxy');
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new SettingsError('proxy', err.message.replace(/^the proxy /, ''));
    }
  }
  const noProxy = raw.noProxy ?? [];
  if (!Array.isArray(noProxy) || !noProxy.every((e) => typeof e === 'string')) throw new SettingsError('noProxy', 'must be a list of host names such as ".example.com"');
  const support = raw.proxySupport ?? undefined;
  if (support !== undefined && !PROXY_SUPPORT.includes(support as ProxySupport)) throw new SettingsError('proxySupport', `must be one of ${PROXY_SUPPORT.map((v) => JSON.stringify(v)).join(', ')}`);
  const proxyAuthorization = optionalText(raw.proxyAuthorization, 'proxyAuthorization', 'must be the whole Proxy-Authorization header value');
  return Object.freeze({ proxy, noProxy: Object.freeze([...noProxy] as string[]), proxySupport: support as ProxySupport | undefined, proxyAuthorization });
}

/** A trimmed string, or undefined for an empty or absent value. */
function optionalText(value: unknown, setting: ProxySettingName, expected: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SettingsError(setting, expected);
  return value.trim() || undefined;
}

/** A https origin; undefined for an empty or absent value. */
export function parseServerUrl(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SettingsError('serverUrl', 'must be a string such as "https://enclave.example.com"');
  const text = value.trim();
  if (!text) return undefined;
  const problem = serverOriginProblem(text);
  if (problem !== undefined) throw new SettingsError('serverUrl', problem);
  return parseServerOrigin(text).origin;
}

export const DEFAULT_POLICY_SOURCE = 'built-in default';
const SETTINGS_POLICY_SOURCE = `settings (${SETTING_KEYS.policy})`;

/** `blindbox.policy`: `{name?, pcrs?, maxAgeSeconds?}`; an empty object (the default) is the built-in policy that pins no PCR. */
export function parseSettingsPolicy(value: unknown): PolicyInfo {
  const empty = value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
  const v = empty ? {} : value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SettingsError('policy', 'must be an object {"name", "pcrs", "maxAgeSeconds"}');
  if (Object.hasOwn(v, 'roots')) throw new SettingsError('policy', `does not take "roots": list trusted root files in ${SETTING_KEYS.trustedRoots}`);
  let parsed: AttestationPolicy;
  try {
    const { rootPaths: _ignored, ...policy } = parsePolicy({ name: 'default', ...v }, SETTING_KEYS.policy);
    parsed = policy;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // parsePolicy already prefixes its messages with the source (the setting's key).
    throw new SettingsError('policy', err.message.replace(`${SETTING_KEYS.policy}: `, ''));
  }
  return Object.freeze({ ...parsed, source: empty ? DEFAULT_POLICY_SOURCE : SETTINGS_POLICY_SOURCE });
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

/** Whether a `blindbox.trustedRoots` entry is PEM text rather than a path. */
export function isInlinePem(entry: string): boolean {
  return entry.trimStart().startsWith(PEM_BEGIN);
}

/** `blindbox.trustedRoots`: each entry is a path to a PEM file or the PEM text itself. */
function parseRoots(value: unknown, home: string): { trustedRoots: string[]; inlineRoots: TrustedRoot[] } {
  if (value === undefined || value === null) return { trustedRoots: [], inlineRoots: [] };
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string')) throw new SettingsError('trustedRoots', 'must be a list of paths to PEM files or PEM texts');
  const entries = value.map((p: string) => p.trim()).filter(Boolean);
  const inlineRoots = entries.flatMap((pem, i) => (isInlinePem(pem) ? inlineRoot(pem, i) : []));
  const trustedRoots = entries.filter((p) => !isInlinePem(p)).map((p) => absolutePath(p, 'trustedRoots', home));
  return { trustedRoots, inlineRoots };
}

function inlineRoot(pem: string, index: number): TrustedRoot[] {
  const at = `${SETTING_KEYS.trustedRoots}[${index}]`;
  try {
    const [first] = trustedRootsFromPem(pem, at);
    // Labelled by where it is and whom it names: the view and the log show this label as the trust anchor.
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(first!.der).subject)?.[1];
    return trustedRootsFromPem(pem, `${at} (inline PEM${cn ? `, CN=${oneLine(cn, 80)}` : ''})`);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new SettingsError('trustedRoots', `entry ${index} starts like a PEM certificate but is not one`);
  }
}

function optionalPath(value: unknown, setting: SettingName, home: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SettingsError(setting, 'must be a path');
  const text = value.trim();
  return text ? absolutePath(text, setting, home) : undefined;
}

function absolutePath(p: string, setting: SettingName, home: string): string {
  const expanded = p === '~' ? home : p.startsWith('~/') || p.startsWith('~\\') ? path.join(home, p.slice(2)) : p;
  if (!path.isAbsolute(expanded)) throw new SettingsError(setting, `${JSON.stringify(p)} must be an absolute path (or start with ~/)`);
  return path.normalize(expanded);
}

function parseFormat(value: unknown): DocumentFormat {
  if (value === undefined || value === null) return 'text';
  if (typeof value !== 'string' || !(DOCUMENT_FORMATS as readonly string[]).includes(value)) {
    throw new SettingsError('transcriptFormat', `must be one of ${DOCUMENT_FORMATS.map((f) => JSON.stringify(f)).join(', ')}`);
  }
  return value as DocumentFormat;
}

function parseTimeout(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_REQUEST_TIMEOUT_SECONDS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_REQUEST_TIMEOUT_SECONDS) {
    throw new SettingsError('requestTimeoutSeconds', `must be a number of seconds from 1 to ${MAX_REQUEST_TIMEOUT_SECONDS}`);
  }
  return value;
}

/** A whole number of files at once, 1 to MAX_CONCURRENCY; default 2. */
/** `auto` (or nothing) is undefined; anything else must look like a language tag (`en`, `pt-BR`, `yue`). */
export function parseLanguage(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '' || value === 'auto') return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/.test(value)) throw new SettingsError('transcriptLanguage', 'must be "auto" or a language tag such as "en" or "pt-BR"');
  return value;
}

/** A boolean setting (absent: false); anything else is refused rather than read as either. */
function parseBoolean(value: unknown, setting: SettingName, unset = false): boolean {
  if (value === undefined || value === null) return unset;
  if (typeof value !== 'boolean') throw new SettingsError(setting, 'must be true or false');
  return value;
}

export function parseConcurrency(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_CONCURRENCY;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) throw new SettingsError('concurrency', `must be a whole number of files from 1 to ${MAX_CONCURRENCY}`);
  return value;
}
