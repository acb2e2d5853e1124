/**
 * What an error notification offers, as a pure function of the failure: the fix its code has (a command to run), then
 * *Show Attestation* when the failure means the server is untrusted, then *Show details* (the log). No vscode import.
 */
import type { Failure } from '../common/failure.js';
import { COMMANDS, OPEN_USER_SETTINGS } from '../ids.js';

/** One button of an error notification and what it does. */
export type FailureAction =
  | { readonly label: string; readonly kind: 'command'; readonly command: string }
  | { readonly label: 'Show Attestation'; readonly kind: 'showAttestation' }
  | { readonly label: 'Show details'; readonly kind: 'showLog' };

/** The fix a notification offers for a failure's code: the action's label and the command it runs. */
const FIXES: Readonly<Record<string, { readonly label: string; readonly command: string }>> = {
  NOT_CONFIGURED: { label: 'Configure Server…', command: COMMANDS.configureServer },
  CHAIN_UNTRUSTED: { label: 'Trust a Root…', command: COMMANDS.trustRoot },
  SETTINGS_INVALID: { label: 'Open User Settings', command: OPEN_USER_SETTINGS },
};

/** The buttons of `failure`'s notification, in order. */
export function failureActions(failure: Failure): readonly FailureAction[] {
  const fix = Object.hasOwn(FIXES, failure.code) ? FIXES[failure.code] : undefined;
  return [
    ...(fix ? [{ label: fix.label, kind: 'command' as const, command: fix.command }] : []),
    ...(failure.untrusted ? [{ label: 'Show Attestation' as const, kind: 'showAttestation' as const }] : []),
    { label: 'Show details', kind: 'showLog' },
  ];
}
