/**
 * The getting-started walkthrough: the context keys its steps complete on (`onContext:` in package.json), set from the
 * facts' owners (the settings for "configured", the trust controller for "verified", a produced transcript for
 * "transcribed"), and *BlindBox: Get Started*, which opens it even over VS Code's own walkthrough.
 */
import * as vscode from 'vscode';
import { ATTESTED_CONTEXT, CONFIGURED_CONTEXT, EXTENSION_ID, TRANSCRIBED_CONTEXT, WALKTHROUGH_ID } from '../ids.js';

/** Sets each walkthrough context key when its fact changes (and once at activation). */
export class WalkthroughKeys {
  readonly #memento: vscode.Memento;
  readonly #set = new Map<string, boolean>();

  constructor(memento: vscode.Memento) {
    this.#memento = memento;
    // A transcript produced in an earlier window still counts.
    this.#update(TRANSCRIBED_CONTEXT, this.#memento.get<boolean>(TRANSCRIBED_CONTEXT) === true);
  }

  /** `configured`: a server URL is saved in the user's settings; `verified`: the server's attestation passed. */
  render(facts: { readonly configured: boolean; readonly verified: boolean }): void {
    this.#update(CONFIGURED_CONTEXT, facts.configured);
    this.#update(ATTESTED_CONTEXT, facts.verified);
  }

  /** A transcript was produced. */
  transcribed(): void {
    this.#update(TRANSCRIBED_CONTEXT, true);
    void this.#memento.update(TRANSCRIBED_CONTEXT, true);
  }

  #update(key: string, value: boolean): void {
    if (this.#set.get(key) === value) return;
    this.#set.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }
}

/**
 * Whether a tab is VS Code's welcome page, which the extension API knows only by its title: "Welcome", or
 * "Walkthrough: <title>" while it shows a walkthrough (VS Code 1.100 in English), with no input the API describes.
 */
function isWelcomePage(tab: vscode.Tab): boolean {
  return tab.input === undefined && (tab.label === 'Welcome' || tab.label.startsWith('Walkthrough: '));
}

/**
 * Opens the BlindBox walkthrough. VS Code's `workbench.action.openWalkthrough` does nothing while a welcome page that
 * shows another walkthrough is a group's active editor (1.100), so welcome pages are closed first.
 */
export async function openWalkthrough(): Promise<void> {
  const welcome = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter(isWelcomePage);
  if (welcome.length > 0) await vscode.window.tabGroups.close(welcome, true);
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#${WALKTHROUGH_ID}`, false);
}
