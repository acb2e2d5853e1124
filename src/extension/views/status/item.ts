/** The status bar item (id `blindbox.status`): model.ts decides what it says and whether it shows; this copies it onto the item. */
import * as vscode from 'vscode';
import { STATUS_BAR_ID } from '../../ids.js';
import { TOOLTIP_COMMANDS, type StatusPresentation } from './model.js';

export class StatusBar implements vscode.Disposable {
  readonly #item: vscode.StatusBarItem;
  #visible = false;

  constructor() {
    this.#item = vscode.window.createStatusBarItem(STATUS_BAR_ID, vscode.StatusBarAlignment.Right, 100);
    this.#item.name = 'BlindBox';
  }

  /** What the item says; empty while it is hidden. */
  get text(): string {
    return this.#visible ? this.#item.text : '';
  }

  /** Shows `p` on the item, or hides the item for undefined. */
  render(p: StatusPresentation | undefined): void {
    const item = this.#item;
    this.#visible = p !== undefined;
    if (!p) {
      item.hide();
      return;
    }
    item.text = p.text;
    const tooltip = new vscode.MarkdownString(p.tooltip);
    // Command links in the tooltip may run only these commands; no HTML.
    tooltip.isTrusted = { enabledCommands: [...TOOLTIP_COMMANDS] };
    tooltip.supportHtml = false;
    item.tooltip = tooltip;
    item.backgroundColor = p.background ? new vscode.ThemeColor(p.background === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground') : undefined;
    item.command = p.command;
    item.accessibilityInformation = { label: p.accessibilityLabel };
    item.show();
  }

  dispose(): void {
    this.#item.dispose();
  }
}
