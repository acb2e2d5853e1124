/**
 * The extension's notifications: a failure as `CODE: sentence` with its fix actions (model.ts), and what an
 * explicit verification says when it ends. Background work only updates the status bar and the log.
 */
import * as vscode from 'vscode';
import { oneLine, quoteServerText } from '../../shared/text.js';
import { failure, type Failure } from '../common/failure.js';
import { failureActions, failureNotice } from './model.js';
import { EXTENSION_ID, OPEN_USER_SETTINGS } from '../ids.js';
import { simulationRoot } from '../trust/checks.js';
import type { TrustState } from '../trust/trust-state.js';

/** What an action says when no server is set (our words, not a server's). */
export const NOT_CONFIGURED: Failure = failure('NOT_CONFIGURED');

/** What the notifications' buttons open. */
export interface NotificationTargets {
  readonly log: vscode.LogOutputChannel;
  showAttestation(): Promise<void>;
}

export class Notifications implements vscode.Disposable {
  readonly #targets: NotificationTargets;
  readonly #command: vscode.Disposable;

  constructor(targets: NotificationTargets) {
    this.#targets = targets;
    this.#command = vscode.commands.registerCommand(OPEN_USER_SETTINGS, (query?: unknown) => openUserSettings(typeof query === 'string' ? query : undefined));
  }

  /**
   * Error notification: `CODE: sentence` (and SIMULATION under a simulation root), with its fix, *Pin the server's PCR…*
   * and *Copy* for a PCR mismatch, *Show Attestation* for untrusted failures, and *Show details*.
   */
  showFailure(failure: Failure): void {
    const actions = failureActions(failure);
    void vscode.window.showErrorMessage(failureNotice(failure), ...actions.map((a) => a.label)).then((pick) => {
      const action = actions.find((a) => a.label === pick);
      if (action?.kind === 'showLog') this.#targets.log.show(true);
      else if (action?.kind === 'showAttestation') void this.#targets.showAttestation();
      else if (action?.kind === 'command') void vscode.commands.executeCommand(action.command, ...(action.args ?? []));
      else if (action?.kind === 'copy') void copyToClipboard(action.value);
    });
  }

  /** What an explicit verification says when it ends. */
  announce(state: TrustState): void {
    switch (state.kind) {
      case 'unconfigured':
        this.showFailure(NOT_CONFIGURED);
        break;
      case 'failed':
        this.showFailure(state.failure);
        break;
      case 'verified':
        if (simulationRoot(state) !== undefined) {
          void vscode.window.showWarningMessage(`BlindBox: ${oneLine(state.server, 200)} verified against a SIMULATION root — not confidential.`, 'Show Attestation').then((pick) => pick && this.#targets.showAttestation());
        } else {
          void vscode.window.showInformationMessage(`BlindBox: ${oneLine(state.server, 200)} is a verified AWS Nitro enclave (policy ${quoteServerText(state.policy.name, 80)}).`);
        }
        break;
      default:
        break;
    }
  }

  dispose(): void {
    this.#command.dispose();
  }
}

/**
 * The Settings UI's User tab, filtered to BlindBox (or to `query`): where the (application-scoped) trust settings live in
 * every window; a remote window's default tab would be the remote machine's, where they are ignored.
 */
export function openUserSettings(query = `@ext:${EXTENSION_ID}`): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openGlobalSettings', { query });
}

/** Copies `value` (a PCR the server attested) and says so in the status bar for a few seconds. */
export async function copyToClipboard(value: string): Promise<void> {
  await vscode.env.clipboard.writeText(value);
  vscode.window.setStatusBarMessage(`BlindBox: copied ${value.slice(0, 16)}… (${value.length} hex digits)`, 5000);
}
