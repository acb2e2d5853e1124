/**
 * The "BlindBox Attestation" webview panel. The HTML is a fixed skeleton
 * (html.ts) under a strict CSP; the data arrives by `postMessage`
 * and the script renders it with `textContent`. Scripts and styles load only
 * from the extension's media/ folder.
 */
import * as vscode from 'vscode';
import { ATTESTATION_VIEW_TYPE } from '../../ids.js';
import { attestationHtml, ATTESTATION_TITLE, makeNonce } from './html.js';
import { parseWebviewMessage, type HostMessage, type WebviewMessage } from './protocol.js';
import type { AttestationViewModel } from './model.js';

export class AttestationPanel implements vscode.Disposable {
  static readonly viewType = ATTESTATION_VIEW_TYPE;
  static readonly title = ATTESTATION_TITLE;

  readonly #panel: vscode.WebviewPanel;
  readonly #disposables: vscode.Disposable[] = [];
  readonly #onDispose: () => void;
  #model: AttestationViewModel | undefined;
  #disposed = false;

  static create(extensionUri: vscode.Uri, onMessage: (message: WebviewMessage) => void, onDispose: () => void, log: vscode.LogOutputChannel): AttestationPanel {
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(AttestationPanel.viewType, AttestationPanel.title, vscode.ViewColumn.Active, webviewOptions(media));
    return new AttestationPanel(panel, media, onMessage, onDispose, log);
  }

  /**
   * Takes over a panel VS Code restored after a window reload (`registerWebviewPanelSerializer`): its options are set
   * again (never trusted from the saved state) and the skeleton is rebuilt with a new nonce; the model follows.
   */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, onMessage: (message: WebviewMessage) => void, onDispose: () => void, log: vscode.LogOutputChannel): AttestationPanel {
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    panel.webview.options = webviewOptions(media);
    return new AttestationPanel(panel, media, onMessage, onDispose, log);
  }

  private constructor(panel: vscode.WebviewPanel, media: vscode.Uri, onMessage: (message: WebviewMessage) => void, onDispose: () => void, log: vscode.LogOutputChannel) {
    this.#panel = panel;
    this.#onDispose = onDispose;
    panel.iconPath = vscode.Uri.joinPath(media, 'icon.png');
    const webview = panel.webview;
    webview.html = attestationHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'attestation.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'attestation.css')).toString(),
    });
    webview.onDidReceiveMessage(
      (raw: unknown) => {
        const message = parseWebviewMessage(raw);
        if (!message) {
          log.warn('ignored an unexpected message from the attestation webview');
          return;
        }
        // The webview reloads when it becomes visible again; `ready` asks for the model.
        if (message.type === 'ready') this.#post();
        else onMessage(message);
      },
      null,
      this.#disposables,
    );
    panel.onDidDispose(() => this.dispose(), null, this.#disposables);
  }

  get visible(): boolean {
    return this.#panel.visible;
  }

  reveal(): void {
    this.#panel.reveal(undefined, false);
  }

  update(model: AttestationViewModel): void {
    this.#model = model;
    this.#post();
  }

  #post(): void {
    if (this.#disposed || !this.#model) return;
    const message: HostMessage = { type: 'model', model: this.#model };
    void this.#panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#panel.dispose();
    while (this.#disposables.length) this.#disposables.pop()?.dispose();
    this.#onDispose();
  }
}

function webviewOptions(media: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, enableForms: false, localResourceRoots: [media] };
}
