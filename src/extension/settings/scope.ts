/**
 * Which settings are trust settings, and from which level their value is read: rules, not identifiers (those are in
 * ids.ts). No `vscode` and no heavy imports: reader.ts uses it at activation, settings tests without an editor.
 */
import type { SettingName } from '../ids.js';

/**
 * Settings that decide where audio goes and what is trusted. They are
 * `application`-scoped: VS Code reads them from the user's own settings in
 * every window, local or remote (a `machine` scope would make it ignore the
 * user's value in remote windows and read the remote machine's settings
 * instead, which a dev container's configuration can write). Their workspace
 * values are ignored, and a change drops the session and attests again.
 */
export const TRUST_SETTINGS: readonly SettingName[] = ['serverUrl', 'policy', 'policyFile', 'trustedRoots', 'allowInspectedTls', 'requestTimeoutSeconds'];

/** What VS Code's `inspect()` returns for one setting (the parts we read). */
export interface Inspected {
  readonly defaultValue?: unknown;
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/**
 * The value of a trust setting: the user's value, else the default. A
 * workspace or folder value is never used, even if VS Code would (it ignores
 * them for `application` scope already; this is the second lock).
 */
export function userLevelValue(inspected: Inspected | undefined): { readonly value: unknown; readonly ignoredWorkspaceValue: boolean } {
  const ignoredWorkspaceValue = inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined;
  return { value: inspected?.globalValue ?? inspected?.defaultValue, ignoredWorkspaceValue };
}

/**
 * VS Code's own proxy settings (read, not contributed), which decide the route of every connection of a session
 * (core proxy-route.ts). Read as VS Code's own extension host reads them (`get`; VS Code scopes them `application`,
 * or `machine` in a remote window, so no workspace value counts); a change starts a new session, as a trust setting's does.
 */
export const PROXY_SETTING_KEYS = {
  proxy: 'http.proxy',
  noProxy: 'http.noProxy',
  proxySupport: 'http.proxySupport',
  proxyAuthorization: 'http.proxyAuthorization',
} as const;

export type ProxySettingName = keyof typeof PROXY_SETTING_KEYS;

/** The extension host's environment variables that decide the route when no setting does (VS Code reads the same ones). */
export const PROXY_ENVIRONMENT_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY'] as const;

/** Only the proxy variables of `env` (nothing else of the environment is kept or compared). */
export function proxyEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(PROXY_ENVIRONMENT_VARIABLES.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]!]])));
}
