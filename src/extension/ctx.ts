/**
 * The presenter: the log, the status bar, the attestation panel and notifications, all rendering the one
 * `TrustState` of the `TrustController` (trust/controller.ts), to which it subscribes. It reads the settings from
 * VS Code, says why a verification runs (only explicit commands notify) and loads the heavy services on first use.
 * Two cleanup lists, as in rust-analyzer's ctx.ts: the extension's lifetime (`#extCleanup`) and the attested
 * connection (inside the controller, reset on every trust change).
 */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { Config } from './config.js';
import { describeFailure, failure, failureFix, type Failure, type FailureFix } from './failure.js';
import { notificationText } from './plain-text.js';
import { oneLine, quoteServerText } from '../core/util/text.js';
import { escapingLog } from './escaping-log.js';
import { ATTESTATION_VIEW_TYPE, COMMANDS, EXTENSION_ID, OUTPUT_CHANNEL, TRUST_VIEW_ID } from './ids.js';
import { AttestationPanel } from './panel.js';
import { StatusBar } from './status.js';
import { policySummary } from './trust-summary.js';
import { TrustView } from './trust-view.js';
import { statusPresentation } from './status-model.js';
import { TrustController } from './trust/controller.js';
import { isSimulation, primaryEnclave, type TrustKind, type TrustState } from './trust/trust-state.js';
import type { Services } from './services.js';
import type { ExtensionSettings } from './settings.js';
import type { WebviewMessage } from './webview-protocol.js';
import type { ReceiptCheck } from './view-model.js';

/** Why a verification runs: only explicit commands notify; background ones update the status bar and the log. */
export type VerifyTrigger = 'startup' | 'settings' | 'command' | 'panel' | 'upload';

/** What `blindbox.verify` returns (for tests and other extensions). */
export interface VerifySummary {
  readonly kind: TrustKind;
  readonly code?: string;
  readonly simulation?: boolean;
  readonly moduleId?: string;
}

const AGE_REFRESH_MS = 30_000;
const SETTINGS_DEBOUNCE_MS = 300;
/** How much longer than its own time bound (`requestTimeoutSeconds` + 2 s) an overtaking verification is waited for. */
const SETTLE_MARGIN_MS = 5_000;
/** What an action says when no server is set. */
export const NOT_CONFIGURED = failure('NOT_CONFIGURED');

/** The action a notification offers for each fix a failure's code names: its label and the command it runs. */
const FIX_ACTIONS: Readonly<Record<FailureFix, { readonly label: string; readonly command: string }>> = {
  configureServer: { label: 'Configure Server…', command: COMMANDS.configureServer },
  trustRoot: { label: 'Trust a Root…', command: COMMANDS.trustRoot },
  openUserSettings: { label: 'Open User Settings', command: 'blindbox.internal.openUserSettings' },
};

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  /** The one owner of the trust state; this class only renders it. */
  readonly trust: TrustController;
  readonly #extCtx: vscode.ExtensionContext;
  readonly #config = new Config();
  readonly #status: StatusBar;
  readonly #extCleanup: vscode.Disposable[] = [];
  #panel: AttestationPanel | undefined;
  /** The last receipt check in this window, shown by the attestation view. */
  #receiptCheck: ReceiptCheck | undefined;
  #services: Promise<Services> | undefined;
  #servicesLoaded: Services | undefined;
  #settingsTimer: ReturnType<typeof setTimeout> | undefined;
  /** The raw settings the last verification read: a change event that leaves them equal attests nothing again. */
  #lastRaw: string | undefined;
  /** The invalid-settings message last notified in the background (one notification per distinct problem). */
  #notifiedInvalid: string | undefined;
  readonly #view = new TrustView();
  /** Setups writing settings now (`whileConfiguring`). */
  #configuring = 0;
  /** Trust settings whose workspace value was already reported as ignored (once each). */
  readonly #warnedWorkspaceValues = new Set<string>();

  constructor(extCtx: vscode.ExtensionContext) {
    this.#extCtx = extCtx;
    // Log lines quote servers, certificates and file names: every one escaped on its way in.
    this.log = escapingLog(vscode.window.createOutputChannel(OUTPUT_CHANNEL, { log: true }));
    this.#status = new StatusBar();
    this.trust = new TrustController({
      attestor: async () => (await this.services()).createAttestor((line) => this.log.info(line)),
      log: { info: (line) => this.log.info(line), error: (line) => this.log.error(line) },
    });
    const unsubscribe = this.trust.onDidChange(() => this.#render());
    this.pushExtCleanup(this.log, this.#status, { dispose: unsubscribe }, this.#view, vscode.window.registerTreeDataProvider(TRUST_VIEW_ID, this.#view));
    extCtx.subscriptions.push(this);
  }

  /** Shows the first status, listens to settings and starts a background verification when a server is set. */
  init(): void {
    const server = this.#config.serverUrl();
    this.trust.start(server);
    this.pushExtCleanup(
      vscode.workspace.onDidChangeConfiguration((e) => {
        // While Configure Server… writes several settings, none of the half-written states is attested.
        if (!this.#config.affectsTrust(e) || this.#configuring > 0) return;
        clearTimeout(this.#settingsTimer);
        this.#settingsTimer = setTimeout(() => {
          if (JSON.stringify(this.#readRaw()) !== this.#lastRaw) void this.verify('settings');
        }, SETTINGS_DEBOUNCE_MS);
      }),
      // After a window reload VS Code restores the attestation panel (activation event onWebviewPanel:blindbox.attestation).
      vscode.window.registerWebviewPanelSerializer(ATTESTATION_VIEW_TYPE, { deserializeWebviewPanel: (panel) => this.#revivePanel(panel) }),
      vscode.commands.registerCommand('blindbox.internal.openUserSettings', () => this.openUserSettings()),
      toDisposable(setInterval(() => this.#refreshAge(), AGE_REFRESH_MS)),
      { dispose: () => clearTimeout(this.#settingsTimer) },
    );
    // After activation returns: loading the core and attesting must not delay the editor.
    if (server) setTimeout(() => void this.verify('startup'), 0);
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

  /** The validated settings. Throws `SettingsError`. */
  async settings(): Promise<ExtensionSettings> {
    const services = await this.services();
    const raw = this.#readRaw();
    this.#lastRaw = JSON.stringify(raw);
    return services.parseSettings(raw, homedir());
  }

  /** The raw settings; a trust setting's workspace value is ignored, and the log says so (once per setting). */
  #readRaw(): ReturnType<Config['read']>['raw'] {
    const { raw, ignored } = this.#config.read();
    for (const key of ignored) {
      if (this.#warnedWorkspaceValues.has(key)) continue;
      this.#warnedWorkspaceValues.add(key);
      this.log.warn(`${key}: the workspace's value is ignored; only your user settings decide where audio goes and what is trusted`);
    }
    return raw;
  }

  /**
   * Attests the configured server now (a fresh document). From the Verify command it runs under a progress
   * notification with Cancel, and says how it ended; in the background it only updates the status bar and the log.
   * The controller drops outcomes a newer verification superseded; the Attestor bounds each one in time.
   */
  async verify(trigger: VerifyTrigger): Promise<VerifySummary> {
    const notify = trigger === 'command';
    let settings: ExtensionSettings;
    try {
      settings = await this.settings();
    } catch (err) {
      const failure = describeFailure(err);
      await this.trust.settingsInvalid(this.#config.serverUrl(), failure);
      // Explicit commands always say it; in the background, one notification per distinct problem (not only a red status item).
      if (notify || this.#notifiedInvalid !== failure.message) this.#notify(failure);
      this.#notifiedInvalid = failure.message;
      return summary(this.trust.state);
    }
    this.#notifiedInvalid = undefined;
    const server = settings.serverUrl;
    if (server) this.log.info(`verifying ${server} (${trigger})`);
    let cancelledByUser = false;
    const state = notify && server
      ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BlindBox: verifying ${server}…`, cancellable: true }, (_progress, token) => {
          const abort = new AbortController();
          const cancelled = token.onCancellationRequested(() => {
            cancelledByUser = true;
            abort.abort();
          });
          return this.trust.verify(settings, abort.signal).finally(() => cancelled.dispose());
        })
      : await this.trust.verify(settings);
    // No state and not cancelled here: a newer verification overtook this one, and its outcome answers the command.
    // Cancelled by the user: nothing to say (the state went back to what it said before).
    const outcome = !notify || cancelledByUser ? undefined : (state ?? (await this.trust.settled(settings.requestTimeoutMs + SETTLE_MARGIN_MS)));
    if (outcome) this.#announce(outcome);
    return summary(this.trust.state);
  }

  /** What an explicit verification says when it ends (background ones only update the status bar). */
  #announce(state: TrustState): void {
    switch (state.kind) {
      case 'unconfigured':
        this.#notify(NOT_CONFIGURED);
        break;
      case 'failed':
        this.#notify(state.failure);
        break;
      case 'verified':
        if (isSimulation(state.enclaves)) {
          void vscode.window.showWarningMessage(`BlindBox: ${oneLine(state.server, 200)} verified against a SIMULATION root — not confidential.`, 'Show Attestation').then((pick) => pick && this.showAttestation());
        } else {
          void vscode.window.showInformationMessage(`BlindBox: ${oneLine(state.server, 200)} is a verified AWS Nitro enclave (policy ${quoteServerText(state.policy.name, 80)}).`);
        }
        break;
      default:
        break;
    }
  }

  /** A file shipped with the extension. */
  extensionFile(...segments: string[]): vscode.Uri {
    return vscode.Uri.joinPath(this.#extCtx.extensionUri, ...segments);
  }

  /** The server URL as the user's settings hold it (not validated), or undefined: cheap, no core loaded. */
  configuredServerUrl(): string | undefined {
    return this.#config.serverUrl();
  }

  /** The policy the user's settings name, as *Configure Server…* offers to keep it; undefined when none is set. */
  configuredPolicyLabel(): string | undefined {
    const state = this.trust.state;
    if (state.policy && state.policy.source !== 'built-in default') return policySummary(state.policy);
    const { raw } = this.#config.read();
    if (typeof raw.policyFile === 'string' && raw.policyFile.trim()) return `policy file ${oneLine(raw.policyFile, 200)}`;
    if (raw.policy && typeof raw.policy === 'object' && Object.keys(raw.policy).length > 0) return 'blindbox.policy in your user settings';
    return undefined;
  }

  /**
   * Writes settings with `write` (*Configure Server…*), then verifies once under all of them, with the explicit
   * command's notifications: no attestation runs under a half-written configuration.
   */
  async whileConfiguring(write: () => Promise<void>): Promise<VerifySummary> {
    this.#configuring++;
    try {
      await write();
    } finally {
      this.#configuring--;
    }
    clearTimeout(this.#settingsTimer);
    return this.verify('command');
  }

  /**
   * The Settings UI's User tab, filtered to BlindBox: where the (application-scoped) trust settings live in every window;
   * a remote window's default tab would be the remote machine's, where they are ignored.
   */
  openUserSettings(): Thenable<unknown> {
    return vscode.commands.executeCommand('workbench.action.openGlobalSettings', { query: `@ext:${EXTENSION_ID}` });
  }

  /** Error notification: `CODE: sentence`, with *Show details* (the log) and, for attestation failures, *Show Attestation*. */
  showFailure(failure: Failure): void {
    this.#notify(failure);
  }

  /** Records what *Verify Receipt…* found, for the attestation view (updated if open; `reveal` opens it). */
  async showReceiptCheck(check: ReceiptCheck, reveal: boolean): Promise<void> {
    this.#receiptCheck = check;
    if (reveal) await this.showAttestation();
    else this.#render();
  }

  async showAttestation(): Promise<void> {
    const services = await this.services();
    if (this.#panel) this.#panel.reveal();
    else {
      this.#panel = AttestationPanel.create(this.#extCtx.extensionUri, (m) => this.#onWebviewMessage(m), () => (this.#panel = undefined), this.log);
      this.log.info('opened the attestation view');
    }
    this.#panel.update(services.attestationViewModel(this.trust.state, new Date(), this.#receiptCheck));
    if (this.trust.state.kind === 'unverified') void this.verify('panel');
  }

  async #revivePanel(webviewPanel: vscode.WebviewPanel): Promise<void> {
    const services = await this.services();
    this.#panel?.dispose();
    this.#panel = AttestationPanel.revive(webviewPanel, this.#extCtx.extensionUri, (m) => this.#onWebviewMessage(m), () => (this.#panel = undefined), this.log);
    this.log.info('restored the attestation view after a reload');
    this.#panel.update(services.attestationViewModel(this.trust.state, new Date(), this.#receiptCheck));
  }

  #onWebviewMessage(message: WebviewMessage): void {
    switch (message.type) {
      case 'verify':
        void this.verify('command');
        break;
      case 'export':
        void vscode.commands.executeCommand(COMMANDS.exportEvidence);
        break;
      case 'openSettings':
        void this.openUserSettings();
        break;
      case 'configure':
        void vscode.commands.executeCommand(COMMANDS.configureServer);
        break;
      case 'showLog':
        this.log.show(true);
        break;
      case 'ready':
        break;
    }
  }

  #notify(failure: Failure): void {
    const fixId = failureFix(failure.code);
    const fix = fixId && FIX_ACTIONS[fixId];
    const actions = [...(fix ? [fix.label] : []), ...(failure.untrusted ? ['Show Attestation'] : []), 'Show details'];
    void vscode.window.showErrorMessage(notificationText(failure), ...actions).then((pick) => {
      if (pick === 'Show details') this.log.show(true);
      else if (pick === 'Show Attestation') void this.showAttestation();
      else if (fix && pick === fix.label) void vscode.commands.executeCommand(fix.command);
    });
  }

  #render(): void {
    const state = this.trust.state;
    this.#status.show(statusPresentation(state, Date.now()));
    this.#view.update(state, Date.now());
    if (this.#panel && this.#servicesLoaded) this.#panel.update(this.#servicesLoaded.attestationViewModel(state, new Date(), this.#receiptCheck));
  }

  #refreshAge(): void {
    const kind = this.trust.state.kind;
    if (kind === 'verified' || kind === 'failed') this.#render();
  }

  dispose(): void {
    this.#panel?.dispose();
    void this.trust.dispose();
    while (this.#extCleanup.length) this.#extCleanup.pop()?.dispose();
  }

  /** Closes the session (deactivate awaits it). */
  async stop(): Promise<void> {
    await this.trust.dispose();
  }
}

function summary(state: TrustState): VerifySummary {
  switch (state.kind) {
    case 'verified': {
      const enclave = primaryEnclave(state);
      return { kind: state.kind, simulation: isSimulation(state.enclaves), moduleId: enclave.attestation.moduleId };
    }
    case 'failed':
      return { kind: state.kind, code: state.failure.code };
    default:
      return { kind: state.kind };
  }
}

function toDisposable(timer: ReturnType<typeof setInterval>): vscode.Disposable {
  return { dispose: () => clearInterval(timer) };
}
