/**
 * How this window connects to its server outside a verification's session (diagnostics, the local endpoint): the trust
 * files as they read now, and the route a verification takes (VS Code's http.* proxy settings, the extension host's
 * environment, and the system or PAC proxy VS Code's own resolver names: trust/attestor.ts).
 */
import type { ConnectOptions } from '../../core/index.js';
import type { AttestationPolicy } from '../../core/policy.js';
import type { ExtensionSettings } from '../settings/model.js';
import { loadTrust } from './attestor.js';
import { editorProxyFor, editorProxyResolver } from './editor-proxy.js';

/** The roots, policy, route, inspection permission and time limit for `settings.serverUrl`. Throws `SettingsError` when a trust file cannot be read. */
export async function windowConnection(settings: ExtensionSettings & { serverUrl: string }, appRoot: string | undefined): Promise<ConnectOptions & { readonly policy: AttestationPolicy }> {
  const trust = await loadTrust(settings);
  // Only the resolver's answer is used, last, as a verification uses it; never under proxySupport off.
  const system = settings.proxy.proxySupport === 'off' ? undefined : await editorProxyFor(editorProxyResolver(appRoot), settings.serverUrl);
  return {
    roots: trust.roots,
    policy: trust.policy,
    proxy: system === undefined ? settings.proxy : { ...settings.proxy, system },
    environment: settings.proxyEnvironment,
    // As a verification takes it: an inspected TLS the user allowed carries sealed bodies only.
    allowInspectedTls: settings.allowInspectedTls,
    timeoutMs: settings.requestTimeoutMs,
  };
}
