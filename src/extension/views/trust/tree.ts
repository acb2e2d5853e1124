/**
 * The BlindBox view (Explorer): a tree of the rows model.ts makes from the trust state. Empty while no server
 * is configured, so the welcome content (package.json `viewsWelcome`) offers *Configure Server…*.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../../ids.js';
import { trustRows, type TrustRow } from './model.js';
import type { TrustState } from '../../trust/trust-state.js';

export class TrustView implements vscode.TreeDataProvider<TrustRow>, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<TrustRow | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  #rows: TrustRow[] = [];

  update(state: TrustState, now: number): void {
    this.#rows = trustRows(state, now);
    this.#changed.fire(undefined);
  }

  getChildren(row?: TrustRow): TrustRow[] {
    return row ? [...(row.children ?? [])] : this.#rows;
  }

  getTreeItem(row: TrustRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, row.children?.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon, row.color ? new vscode.ThemeColor(row.color) : undefined);
    item.command = { command: row.command ?? COMMANDS.showAttestation, title: row.command ? row.label : 'Show Attestation' };
    return item;
  }

  dispose(): void {
    this.#changed.dispose();
  }
}
