/** The status bar item (id `blindbox.status`): model.ts decides what it says; this copies it onto the item. */
import * as vscode from 'vscode';
import { STATUS_BAR_ID } from '../../ids.js';
import { TOOLTIP_COMMANDS, type StatusPresentation } from './model.js';

export class StatusBar implements vscode.Disposable {
  readonly #item: vscode.StatusBarItem;

  constructor() {
    this.#item = vscode.window.createStatusBarItem(STATUS_BAR_ID, vscode.StatusBarAlignment.Right, 100);
    this.#item.name = 'BlindBox';
  }

  get text(): string {
    return this.#item.text;
  }

  show(p: StatusPresentation): void {
    const item = this.#item;
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
