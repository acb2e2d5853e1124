/**
 * What an error notification offers, as a pure function of the failure: the fix its code has (a command to run), then
 * *Show Attestation* when the failure means the server is untrusted, then *Show details* (the log). No vscode import.
 */
import { failureFix, type Failure, type FailureFix } from '../common/failure.js';
import { COMMANDS, OPEN_USER_SETTINGS } from '../ids.js';

/** One button of an error notification and what it does. */
export type FailureAction =
  | { readonly label: string; readonly kind: 'command'; readonly command: string; readonly args?: readonly unknown[] }
  | { readonly label: 'Show Attestation'; readonly kind: 'showAttestation' }
  | { readonly label: 'Show details'; readonly kind: 'showLog' };

/** The button for each fix a failure's code names (common/failure.ts owns which code has which fix). */
const FIX_ACTIONS: Readonly<Record<FailureFix, { readonly label: string; readonly command: string }>> = {
  configureServer: { label: 'Configure Server…', command: COMMANDS.configureServer },
  trustRoot: { label: 'Trust a Root…', command: COMMANDS.trustRoot },
  openUserSettings: { label: 'Open User Settings', command: OPEN_USER_SETTINGS },
};

/**
 * The label and arguments of a fix that depend on more than the code: a server whose new BlindBox SIMULATION root is
 * refused while an old one is trusted (a `serve --simulate` restarted without `--ca`) is offered the replacement, and
 * *Trust a Root…* is given the root the server presented.
 */
function fixArgs(fix: FailureFix, failure: Failure): { label?: string; args?: readonly unknown[] } {
  const root = failure.untrustedRoot;
  if (fix !== 'trustRoot' || !root) return {};
  const replaces = root.kind === 'blindbox-simulation' && root.trustedSimulationRoots > 0;
  return { ...(replaces ? { label: REPLACE_SIMULATION_ROOT } : {}), args: [root] };
}

/** The button that replaces the trusted simulation root(s) with the one the server now presents. */
export const REPLACE_SIMULATION_ROOT = 'Replace the old simulation root…';

/** The buttons of `failure`'s notification, in order. */
export function failureActions(failure: Failure): readonly FailureAction[] {
  const fixId = failureFix(failure.code);
  const fix = fixId && FIX_ACTIONS[fixId];
  return [
    ...(fix ? [{ label: fix.label, kind: 'command' as const, command: fix.command, ...fixArgs(fixId, failure) }] : []),
    ...(failure.untrusted ? [{ label: 'Show Attestation' as const, kind: 'showAttestation' as const }] : []),
    { label: 'Show details', kind: 'showLog' },
  ];
}
