/**
 * The extension's lifetime and its rendering. `Ctx` builds, once per window, the objects that live as long as the
 * extension (the log, the settings reader, the trust controller, notifications, the *Verify* flow, the transcripts
 * opened in this window, the untitled names being claimed) and disposes of them in reverse order; it loads the heavy
 * services on first use; and it renders the one `TrustState` of the `TrustController` on every surface (status bar,
 * BlindBox view, attestation panel, the walkthrough's context keys). It decides nothing: trust is the
 * controller's, settings the reader's, what a verification says the flow's.
 */
import * as vscode from 'vscode';
import { SettingsReader } from './settings/reader.js';
import { escapingLog } from './common/escaping-log.js';
import { ATTESTATION_VIEW_TYPE, COMMANDS, OUTPUT_CHANNEL, TRUST_VIEW_ID } from './ids.js';
import { WalkthroughKeys } from './setup/walkthrough.js';
import { copyToClipboard, Notifications, openUserSettings } from './notifications/notifications.js';
import { OpenedTranscripts } from './receipts/opened-transcripts.js';
import { AttestationPanel } from './views/attestation/panel.js';
import { StatusBar } from './views/status/item.js';
import { statusPresentation } from './views/status/model.js';
import { TrustView } from './views/trust/tree.js';
import { TrustController } from './trust/controller.js';
import { Verification } from './verification.js';
import type { Services } from './services.js';
import type { WebviewMessage } from './views/attestation/protocol.js';
import type { ReceiptCheck } from './views/attestation/model.js';
import { Clock, shownAges, shownTimes } from './common/clock.js';
import { EngineSpeeds } from './transcribe/progress.js';

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly settings: SettingsReader;
  /** The one owner of the trust state; this class only renders it. */
  readonly trust: TrustController;
  readonly notifications: Notifications;
  readonly verification: Verification;
  readonly transcripts: OpenedTranscripts;
  /** Untitled names being opened right now (not yet in `workspace.textDocuments`): two transcripts never share one. */
  readonly claimedNames = new Set<string>();
  /** The context keys the walkthrough's steps complete on. */
  readonly walkthrough: WalkthroughKeys;
  /** The one clock every surface reads an age or an elapsed time from. */
  readonly clock = new Clock();
  /** The enclave's speed measured on this window's transcriptions, for the estimate of the next ones. */
  readonly speeds = new EngineSpeeds();
  readonly #extCtx: vscode.ExtensionContext;
  readonly #status = new StatusBar();
  readonly #view = new TrustView();
  readonly #extCleanup: vscode.Disposable[] = [];
  #panel: AttestationPanel | undefined;
  /** The last receipt check in this window, shown by the attestation view. */
  #receiptCheck: ReceiptCheck | undefined;
  #services: Promise<Services> | undefined;
  #servicesLoaded: Services | undefined;
  /** The ages last rendered, and the end of the clock subscription while any is shown. */
  #ages = '';
  #ageing: (() => void) | undefined;

  constructor(extCtx: vscode.ExtensionContext) {
    this.#extCtx = extCtx;
    // Log lines quote servers, certificates and file names: every one escaped on its way in.
    this.log = escapingLog(vscode.window.createOutputChannel(OUTPUT_CHANNEL, { log: true }));
    this.settings = new SettingsReader(this.log, async () => (await this.services()).trust.parseSettings);
    this.trust = new TrustController({
      attestor: async () => (await this.services()).trust.createAttestor((line) => this.log.info(line), vscode.env.appRoot),
      log: { info: (line) => this.log.info(line), error: (line) => this.log.error(line) },
    });
    this.notifications = new Notifications({ log: this.log, showAttestation: () => this.showAttestation() });
    this.verification = new Verification(this.trust, this.settings, this.notifications, this.log);
    this.transcripts = new OpenedTranscripts();
    this.walkthrough = new WalkthroughKeys(extCtx.globalState);
    const unsubscribe = this.trust.onDidChange(() => this.#render());
    this.pushExtCleanup(this.log, this.#status, this.settings, { dispose: unsubscribe }, this.notifications, this.transcripts, this.#view, vscode.window.registerTreeDataProvider(TRUST_VIEW_ID, this.#view));
    extCtx.subscriptions.push(this);
  }

  /** Shows the first status, follows the settings and starts a background verification when a server is set. */
  init(): void {
    const server = this.settings.serverUrl();
    this.trust.start(server);
    this.pushExtCleanup(
      this.settings.onDidChange(() => void this.verification.verify('settings')),
      // After a window reload VS Code restores the attestation panel (activation event onWebviewPanel:blindbox.attestation).
      vscode.window.registerWebviewPanelSerializer(ATTESTATION_VIEW_TYPE, { deserializeWebviewPanel: (panel) => this.#revivePanel(panel) }),
    );
    // After activation returns: loading the core and attesting must not delay the editor.
    if (server) setTimeout(() => void this.verification.verify('startup'), 0);
  }

  pushExtCleanup(...disposables: vscode.Disposable[]): void {
    this.#extCleanup.push(...disposables);
  }

  get statusText(): string {
    return this.#status.text;
  }

  /** The heavy services, loaded once on first use. */
  services(): Promise<Services> {
    this.#services ??= import('./services.js').then(({ services }) => {
      this.#servicesLoaded = services;
      return services;
    });
    return this.#services;
  }

  /** What the extension remembers across windows and sessions (e.g. where the last batch wrote). */
  get memento(): vscode.Memento {
    return this.#extCtx.globalState;
  }

  /** This extension's version, from its manifest. */
  get version(): string {
    return (this.#extCtx.extension.packageJSON as { version?: string }).version ?? 'unknown';
  }

  /** A file shipped with the extension. */
  extensionFile(...segments: string[]): vscode.Uri {
    return vscode.Uri.joinPath(this.#extCtx.extensionUri, ...segments);
  }

  /** Records what *Verify Receipt…* found, for the attestation view (updated if open; `reveal` opens it). */
  async showReceiptCheck(check: ReceiptCheck, reveal: boolean): Promise<void> {
    this.#receiptCheck = check;
    if (reveal) await this.showAttestation();
    else this.#render();
  }

  /** A new transcription started: the last receipt check is about older files and leaves the attestation view. */
  clearReceiptCheck(): void {
    if (!this.#receiptCheck) return;
    this.#receiptCheck = undefined;
    this.#render();
  }

  async showAttestation(): Promise<void> {
    const services = await this.services();
    if (this.#panel) this.#panel.reveal();
    else {
      this.#panel = AttestationPanel.create(this.#extCtx.extensionUri, (m) => this.#onWebviewMessage(m), () => (this.#panel = undefined), this.log);
      this.log.info('opened the attestation view');
    }
    this.#panel.update(services.trust.attestationViewModel(this.trust.state, new Date(this.clock.now()), this.#receiptCheck));
    if (this.trust.state.kind === 'unverified') void this.verification.verify('panel');
  }

  async #revivePanel(webviewPanel: vscode.WebviewPanel): Promise<void> {
    const services = await this.services();
    this.#panel?.dispose();
    this.#panel = AttestationPanel.revive(webviewPanel, this.#extCtx.extensionUri, (m) => this.#onWebviewMessage(m), () => (this.#panel = undefined), this.log);
    this.log.info('restored the attestation view after a reload');
    this.#panel.update(services.trust.attestationViewModel(this.trust.state, new Date(this.clock.now()), this.#receiptCheck));
  }

  #onWebviewMessage(message: WebviewMessage): void {
    switch (message.type) {
      case 'verify':
        void this.verification.verify('command');
        break;
      case 'export':
        void vscode.commands.executeCommand(COMMANDS.exportEvidence);
        break;
      case 'openSettings':
        void openUserSettings();
        break;
      case 'configure':
        void vscode.commands.executeCommand(COMMANDS.configureServer);
        break;
      case 'showLog':
        this.log.show(true);
        break;
      case 'pinPcr':
        void vscode.commands.executeCommand(COMMANDS.pinAttestedPcr);
        break;
      case 'copyPcr': {
        const actual = this.trust.state.kind === 'failed' ? this.trust.state.failure.pcr?.actual : undefined;
        if (actual) void copyToClipboard(actual);
        break;
      }
      case 'compareReceipt':
        this.#receiptCheck?.compare?.();
        break;
      case 'ready':
        break;
    }
  }

  /** Every surface at the same instant of the one clock. */
  #render(): void {
    const state = this.trust.state;
    const now = this.clock.now();
    this.#status.render(statusPresentation(state, now));
    this.#view.update(state, now);
    if (this.#panel && this.#servicesLoaded) this.#panel.update(this.#servicesLoaded.trust.attestationViewModel(state, new Date(now), this.#receiptCheck));
    this.walkthrough.render({ configured: this.settings.serverUrl() !== undefined, verified: state.kind === 'verified' });
    this.#followAges(now);
  }

  /** Follows the clock while an age is shown, rendering again whenever one of them would read differently. */
  #followAges(now: number): void {
    const times = shownTimes(this.trust.state, this.#receiptCheck);
    this.#ages = shownAges(times, now);
    if (times.length === 0) {
      this.#ageing?.();
      this.#ageing = undefined;
    } else {
      this.#ageing ??= this.clock.subscribe((tick) => {
        if (shownAges(shownTimes(this.trust.state, this.#receiptCheck), tick) !== this.#ages) this.#render();
      });
    }
  }

  dispose(): void {
    this.clock.dispose();
    this.#panel?.dispose();
    void this.trust.dispose();
    while (this.#extCleanup.length) this.#extCleanup.pop()?.dispose();
  }

  /** Closes the session (deactivate awaits it). */
  async stop(): Promise<void> {
    await this.trust.dispose();
  }
}
