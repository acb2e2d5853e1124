/**
 * What an error notification offers, as a pure function of the failure: the fix its code has (a command to run), then
 * *Show Attestation* when the failure means the server is untrusted, then *Show details* (the log). No vscode import.
 */
import { failureFix, type Failure, type FailureFix } from '../common/failure.js';
import { COMMANDS, OPEN_USER_SETTINGS } from '../ids.js';
import { notificationText } from '../common/plain-text.js';
import { pinLabel, SIMULATION_TITLE, simulationSentence } from '../trust/checks.js';

/** One button of an error notification and what it does. */
export type FailureAction =
  | { readonly label: string; readonly kind: 'command'; readonly command: string; readonly args?: readonly unknown[] }
  /** PCR_MISMATCH: copy the value the server attested. */
  | { readonly label: 'Copy'; readonly kind: 'copy'; readonly value: string }
  | { readonly label: 'Show Attestation'; readonly kind: 'showAttestation' }
  | { readonly label: 'Show details'; readonly kind: 'showLog' };

/** The button for each fix a failure's code names (common/failure.ts owns which code has which fix). */
const FIX_ACTIONS: Readonly<Record<FailureFix, { readonly label: string; readonly command: string }>> = {
  configureServer: { label: 'Configure Server…', command: COMMANDS.configureServer },
  trustRoot: { label: 'Trust a Root…', command: COMMANDS.trustRoot },
  openUserSettings: { label: 'Open User Settings', command: OPEN_USER_SETTINGS },
  proxySettings: { label: 'Open Proxy Settings', command: OPEN_USER_SETTINGS },
  networkDiagnostics: { label: 'Network Diagnostics', command: COMMANDS.networkDiagnostics },
};

/**
 * The label and arguments of a fix that depend on more than the code: a server whose new BlindBox SIMULATION root is
 * refused while an old one is trusted (a `serve --simulate` restarted without `--ca`) is offered the replacement, and
 * *Trust a Root…* is given the root the server presented; a proxy that wants credentials opens VS Code's proxy settings.
 */
function fixArgs(fix: FailureFix, failure: Failure): { label?: string; args?: readonly unknown[] } {
  // VS Code's own proxy settings, where the proxy's URL and its Proxy-Authorization value are set.
  if (fix === 'proxySettings') return { args: [PROXY_SETTINGS_QUERY] };
  const root = failure.untrustedRoot;
  if (fix !== 'trustRoot' || !root) return {};
  const replaces = root.kind === 'blindbox-simulation' && root.trustedSimulationRoots > 0;
  return { ...(replaces ? { label: REPLACE_SIMULATION_ROOT } : {}), args: [root] };
}

/** The Settings UI's search that shows VS Code's proxy settings (http.proxy, http.proxyAuthorization, http.proxySupport…). */
export const PROXY_SETTINGS_QUERY = 'http.proxy';

/** The button that replaces the trusted simulation root(s) with the one the server now presents. */
export const REPLACE_SIMULATION_ROOT = 'Replace the old simulation root…';

/**
 * The buttons of `failure`'s notification, in order. A PCR mismatch (the normal case after every rebuild) offers to pin
 * the value the server attested and to copy it.
 */
export function failureActions(failure: Failure): readonly FailureAction[] {
  const fixId = failureFix(failure.code);
  const fix = fixId && FIX_ACTIONS[fixId];
  const attested = failure.pcr?.actual;
  return [
    ...(fix ? [{ label: fix.label, kind: 'command' as const, command: fix.command, ...fixArgs(fixId, failure) }] : []),
    ...(attested ? [{ label: pinLabel(failure.pcr!.index), kind: 'command' as const, command: COMMANDS.pinAttestedPcr }, { label: 'Copy' as const, kind: 'copy' as const, value: attested }] : []),
    ...(failure.untrusted ? [{ label: 'Show Attestation' as const, kind: 'showAttestation' as const }] : []),
    // A toast shows about three buttons whole; with Pin and Copy, the log stays one click away in the attestation view.
    ...(attested ? [] : [{ label: 'Show details' as const, kind: 'showLog' as const }]),
  ];
}

/** A failure as a notification says it: `BlindBox: CODE: sentence`, and SIMULATION when the chain ended in such a root. */
export function failureNotice(failure: Failure): string {
  const root = failure.chainRoot;
  return `${notificationText(failure)}${root?.simulation ? ` ${SIMULATION_TITLE}: ${simulationSentence(root.label)}` : ''}`;
}
