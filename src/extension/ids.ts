/**
 * Every identifier the extension contributes, in one place: package.json,
 * the code and the end-to-end tests must agree on them (a unit test checks
 * package.json against this file). No imports, so loading it costs nothing.
 */

export const EXTENSION_ID = 'blindbox.blindbox-vscode';

export const COMMANDS = {
  transcribe: 'blindbox.transcribe',
  transcribeFromExplorer: 'blindbox.transcribeFromExplorer',
  verify: 'blindbox.verify',
  showAttestation: 'blindbox.showAttestation',
  exportEvidence: 'blindbox.exportEvidence',
  showLog: 'blindbox.showLog',
} as const;

/** Every setting key, as contributed in package.json. */
export const SETTING_KEYS = {
  serverUrl: 'blindbox.serverUrl',
  policy: 'blindbox.policy',
  policyFile: 'blindbox.policyFile',
  trustedRoots: 'blindbox.trustedRoots',
  transcriptFormat: 'blindbox.transcript.format',
  requestTimeoutSeconds: 'blindbox.requestTimeoutSeconds',
} as const;

export type SettingName = keyof typeof SETTING_KEYS;

/**
 * Settings that decide where audio goes and what is trusted. They are
 * `machine`-scoped, their workspace values are ignored, and a change drops
 * the session and attests again.
 */
export const TRUST_SETTINGS: readonly SettingName[] = ['serverUrl', 'policy', 'policyFile', 'trustedRoots', 'requestTimeoutSeconds'];

export const STATUS_BAR_ID = 'blindbox.status';
export const OUTPUT_CHANNEL = 'BlindBox';

/** The webview panel's type (also `AttestationPanel.viewType`). */
export const ATTESTATION_VIEW_TYPE = 'blindbox.attestation';

/** What VS Code's `inspect()` returns for one setting (the parts we read). */
export interface Inspected {
  readonly defaultValue?: unknown;
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/**
 * The value of a trust setting: the user's (or the remote machine's) value,
 * else the default. A workspace or folder value is never used, even if VS Code
 * would (it ignores them for `machine` scope already; this is the second lock).
 */
export function userLevelValue(inspected: Inspected | undefined): { readonly value: unknown; readonly ignoredWorkspaceValue: boolean } {
  const ignoredWorkspaceValue = inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined;
  return { value: inspected?.globalValue ?? inspected?.defaultValue, ignoredWorkspaceValue };
}
