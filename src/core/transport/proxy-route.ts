/**
 * Which way a connection to a server goes: directly, or through an HTTP proxy (CONNECT tunnel). Decided once per
 * session from explicit settings (VS Code's `http.*` or the CLI's flags) and the environment, by the rules of VS Code's
 * proxy resolver (@vscode/proxy-agent, `createProxyResolver`), so that BlindBox takes the route VS Code's own requests
 * take:
 *
 * - `proxySupport` `off`: direct. Any other value (`on`, `override`, `fallback`) resolves as below: BlindBox always
 *   makes its own connection, where VS Code would resolve the proxy for it.
 * - localhost, 127.0.0.1, ::1 and ::ffff:127.0.0.1: direct.
 * - A non-empty `noProxy` setting decides alone (the environment's NO_PROXY is then ignored); else `no_proxy` /
 *   `NO_PROXY`. Entries are comma-separated (environment) or a list (setting), `name[:port]`, matched as a suffix on
 *   whole labels (`example.com` and `.example.com` both match `example.com` and `a.example.com`), with the port if
 *   one is given; `*` anywhere bypasses every host. There are no other wildcards (`*.example.com` matches nothing).
 * - Then the proxy setting, if it is a URL (`scheme://…`); then `https_proxy`, `HTTPS_PROXY`, `http_proxy`,
 *   `HTTP_PROXY` (the first that is set); then the proxy the editor resolved from the system or a PAC script (`system`);
 *   else direct. A value without `://` is ignored, as VS Code ignores it.
 *
 * Pure: no network, no `process.env` (the caller passes the environment it means).
 */
import { InputError } from '../errors.js';

/** VS Code's `http.proxySupport`. */
export type ProxySupport = 'off' | 'on' | 'override' | 'fallback';

/** Explicit proxy settings (VS Code's `http.*`, or the CLI's flags); every field optional. */
export interface ProxySettings {
  /** `http.proxy` / `--proxy`: `http://[user:password@]host[:port]`. Wins over the environment. */
  readonly proxy?: string;
  /** `http.noProxy`: when non-empty, replaces the environment's NO_PROXY. */
  readonly noProxy?: readonly string[];
  /** `http.proxySupport`; default `override` (VS Code's default). */
  readonly proxySupport?: ProxySupport;
  /** `http.proxyAuthorization`: the whole `Proxy-Authorization` value; wins over credentials in the proxy URL. */
  readonly proxyAuthorization?: string;
  /**
   * The proxy VS Code's own resolver chose for this server from the operating system or a PAC script (a URL), when
   * the caller could learn it: used only when neither `proxy` nor the environment names one.
   */
  readonly system?: string;
}

/** Environment variables, as `process.env` holds them. */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/** Why a connection goes direct. */
export type DirectReason = 'off' | 'localhost' | 'noProxySetting' | 'noProxyEnv' | 'unconfigured';

/** The route of every connection of a session. `proxy` never carries credentials: it can be shown. */
export type ProxyRoute =
  | { readonly kind: 'direct'; readonly why: DirectReason }
  | {
      readonly kind: 'proxy';
      /** The proxy's origin, `http://host:port`, without credentials. */
      readonly proxy: string;
      /** The `Proxy-Authorization` value to send with CONNECT, if any. */
      readonly authorization: string | undefined;
      readonly source: 'setting' | 'env' | 'system';
    };

/** Read in this order; the first that is set is the one (VS Code's order). */
const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] as const;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']);

/** The route to `target` (an https:// origin) under `settings` and `env`. Throws `InputError` for a proxy BlindBox cannot use. */
export function resolveRoute(target: URL, settings: ProxySettings = {}, env: ProxyEnvironment = {}): ProxyRoute {
  if (settings.proxySupport === 'off') return { kind: 'direct', why: 'off' };
  const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (LOOPBACK.has(hostname)) return { kind: 'direct', why: 'localhost' };
  const port = target.port || (target.protocol === 'http:' ? '80' : '443');
  const configured = (settings.noProxy ?? []).map((s) => s.trim().toLowerCase());
  if (configured.length > 0) {
    if (bypasses(configured, hostname, port)) return { kind: 'direct', why: 'noProxySetting' };
  } else if (bypasses(splitEnvList(env.no_proxy || env.NO_PROXY), hostname, port)) {
    return { kind: 'direct', why: 'noProxyEnv' };
  }
  const url = (value: string | undefined) => (value?.includes('://') ? value : undefined);
  const envName = PROXY_VARIABLES.find((name) => env[name]);
  const candidates = [
    { source: 'setting', value: url(settings.proxy), what: 'the proxy setting' },
    { source: 'env', value: url(envName === undefined ? undefined : env[envName]!.trim()), what: `the environment variable ${envName}` },
    { source: 'system', value: url(settings.system?.trim()), what: 'the system proxy (resolved by the editor)' },
  ] as const;
  const chosen = candidates.find((c) => c.value !== undefined);
  if (chosen === undefined) return { kind: 'direct', why: 'unconfigured' };
  const { origin, basic } = parseProxyUrl(chosen.value!, chosen.what);
  return { kind: 'proxy', proxy: origin, authorization: settings.proxyAuthorization || basic, source: chosen.source };
}

/** How a route reads in a sentence: "directly" or "through proxy http://proxy.example:3128". */
export function describeRoute(route: ProxyRoute): string {
  return route.kind === 'direct' ? 'directly' : `through proxy ${route.proxy}`;
}

/**
 * A proxy URL into its origin (shown) and a Basic `Proxy-Authorization` from its credentials (never shown). Only
 * `http://` proxies are supported: another scheme is refused rather than silently going around the proxy.
 */
export function parseProxyUrl(value: string, what: string): { origin: string; basic: string | undefined } {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InputError('INVALID_OPTION', `${what} is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:') {
    throw new InputError('INVALID_OPTION', `${what} uses ${url.protocol.replace(/:$/, '')}://, which BlindBox does not support: give an http:// proxy (it tunnels with CONNECT; the TLS inside stays pinned to the enclave)`);
  }
  const basic = url.username || url.password ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` : undefined;
  return { origin: url.origin, basic };
}

function splitEnvList(value: string | undefined): string[] {
  return (value ?? '').trim().toLowerCase().split(',');
}

/** VS Code's `shouldBypassProxy`: entries already trimmed and lower-cased. */
function bypasses(entries: readonly string[], hostname: string, port: string): boolean {
  if (entries.includes('*')) return true;
  return entries
    .map((s) => s.trim().split(':', 2))
    .filter(([name]) => !!name)
    .some(([name, filterPort]) => `.${hostname}`.endsWith(name!.startsWith('.') ? name! : `.${name}`) && (!filterPort || port === filterPort));
}
