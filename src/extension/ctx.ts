/**
 * All of the extension's state, in one owner: the log, the status bar, the
 * last attestation result, the session audio may go through (inside the
 * `Attestor`) and the webview panel. Two cleanup lists, as in
 * rust-analyzer's ctx.ts: the extension's lifetime (`#extCleanup`) and the
 * attested connection (the `Attestor`, reset on every trust change).
 */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { Config } from './config.js';
import { describeFailure, type Failure } from './failure.js';
import { failureLine, notificationText } from './plain-text.js';
import { COMMANDS, EXTENSION_ID, OUTPUT_CHANNEL } from './ids.js';
import { AttestationPanel } from './panel.js';
import { StatusBar } from './status.js';
import { statusPresentation } from './status-model.js';
import type { AttestationKind, AttestationResult, PolicyInfo } from './state.js';
import type { Attested } from '../core/transport/session.js';
import type { AttestedSession } from '../core/transport/session.js';
import type { Attestor, AttestOutcome } from './attest.js';
import type { ExtensionSettings } from './settings.js';
import type { WebviewMessage } from './webview-protocol.js';

type Lazy = typeof import('./lazy.js');

/** Why a verification runs: only explicit commands notify; background ones update the status bar and the log. */
export type VerifyTrigger = 'startup' | 'settings' | 'command' | 'panel' | 'upload';

/** What `blindbox.verify` returns (for tests and other extensions). */
export interface VerifySummary {
  readonly kind: AttestationKind;
  readonly code?: string;
  readonly simulation?: boolean;
  readonly moduleId?: string;
}

const AGE_REFRESH_MS = 30_000;
const SETTINGS_DEBOUNCE_MS = 300;

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly #extCtx: vscode.ExtensionContext;
  readonly #config = new Config();
  readonly #status: StatusBar;
  readonly #extCleanup: vscode.Disposable[] = [];
  #result: AttestationResult = { kind: 'unconfigured' };
  #policy: PolicyInfo | undefined;
  #panel: AttestationPanel | undefined;
  #lazy: Promise<Lazy> | undefined;
  #lazyLoaded: Lazy | undefined;
  #attestor: Attestor | undefined;
  /** Bumped by every verification; results of older ones are dropped. */
  #generation = 0;
  #settingsTimer: ReturnType<typeof setTimeout> | undefined;
  /** Trust settings whose workspace value was already reported as ignored (once each). */
  readonly #warnedWorkspaceValues = new Set<string>();

  constructor(extCtx: vscode.ExtensionContext) {
    this.#extCtx = extCtx;
    this.log = vscode.window.createOutputChannel(OUTPUT_CHANNEL, { log: true });
    this.#status = new StatusBar();
    this.pushExtCleanup(this.log, this.#status);
    extCtx.subscriptions.push(this);
  }

  /** Shows the first status, listens to settings and starts a background verification when a server is set. */
  init(): void {
    const server = this.#config.serverUrl();
    this.#setResult(server ? { kind: 'unverified', server } : { kind: 'unconfigured' });
    this.pushExtCleanup(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!this.#config.affectsTrust(e)) return;
        clearTimeout(this.#settingsTimer);
        this.#settingsTimer = setTimeout(() => void this.verify('settings'), SETTINGS_DEBOUNCE_MS);
      }),
      toDisposable(setInterval(() => this.#refreshAge(), AGE_REFRESH_MS)),
      { dispose: () => clearTimeout(this.#settingsTimer) },
    );
    // After activation returns: loading the core and attesting must not delay the editor.
    if (server) setTimeout(() => void this.verify('startup'), 0);
  }

  pushExtCleanup(...disposables: vscode.Disposable[]): void {
    this.#extCleanup.push(...disposables);
  }

  get result(): AttestationResult {
    return this.#result;
  }

  get policy(): PolicyInfo | undefined {
    return this.#policy;
  }

  get statusText(): string {
    return this.#status.text;
  }

  /** The heavy modules, loaded once on first use. */
  lazy(): Promise<Lazy> {
    this.#lazy ??= import('./lazy.js').then((m) => {
      this.#lazyLoaded = m;
      this.#attestor = new m.Attestor({ log: (line) => this.log.info(line) });
      return m;
    });
    return this.#lazy;
  }

  /** The validated settings. Throws `SettingsError`. */
  async settings(): Promise<ExtensionSettings> {
    const lazy = await this.lazy();
    const { raw, ignored } = this.#config.read();
    for (const key of ignored) {
      if (this.#warnedWorkspaceValues.has(key)) continue;
      this.#warnedWorkspaceValues.add(key);
      this.log.warn(`${key}: the workspace's value is ignored; only your user settings decide where audio goes and what is trusted`);
    }
    return lazy.parseSettings(raw, homedir());
  }

  /**
   * Attests the configured server now (a fresh document), updates the status bar and the webview. From the Verify
   * command it runs under a progress notification with Cancel; in the background it is aborted when a newer
   * verification supersedes it or the extension stops, and the Attestor bounds it in time either way.
   */
  async verify(trigger: VerifyTrigger): Promise<VerifySummary> {
    const generation = ++this.#generation;
    let settings: ExtensionSettings;
    try {
      settings = await this.settings();
    } catch (err) {
      const failure = describeFailure(err, 'settings');
      if (generation !== this.#generation) return summary(this.#result);
      this.#attestor?.cancel();
      await this.#attestor?.drop();
      this.#policy = undefined;
      this.#fail(this.#config.serverUrl(), failure, trigger === 'command');
      return summary(this.#result);
    }
    if (!settings.serverUrl) {
      this.#attestor?.cancel();
      await this.#attestor?.drop();
      this.#policy = settings.policyFile ? undefined : settings.policy;
      this.log.info('no server is configured (blindbox.serverUrl)');
      this.#setResult({ kind: 'unconfigured' });
      if (trigger === 'command') this.#notify({ code: 'NOT_CONFIGURED', message: 'Set blindbox.serverUrl in your user settings first.', untrusted: false });
      return summary(this.#result);
    }
    const server = settings.serverUrl;
    this.log.info(`verifying ${server} (${trigger})`);
    const before = this.#result;
    this.#setResult({ kind: 'verifying', server });
    const outcome =
      trigger === 'command'
        ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BlindBox: verifying ${server}…`, cancellable: true }, (_progress, token) => {
            const abort = new AbortController();
            const cancelled = token.onCancellationRequested(() => abort.abort());
            return this.#attestor!.verify(settings, abort.signal).finally(() => cancelled.dispose());
          })
        : await this.#attestor!.verify(settings);
    if (generation !== this.#generation) return summary(this.#result);
    if (this.#wasCancelled(outcome, before, server)) return summary(this.#result);
    this.#applyOutcome(server, outcome, trigger === 'command');
    if (trigger === 'command' && this.#result.kind === 'verified') {
      const a = this.#result.attested;
      if (a.simulation) void vscode.window.showWarningMessage(`BlindBox: ${server} verified against a SIMULATION root — not confidential.`, 'Show Attestation').then((pick) => pick && this.showAttestation());
      else void vscode.window.showInformationMessage(`BlindBox: ${server} is a verified AWS Nitro enclave (policy ${outcome.policy?.name ?? 'default'}).`);
    }
    return summary(this.#result);
  }

  /**
   * A session for an upload: reused while young enough, else attested now.
   * Returns a failure (already shown in the status bar) when the server does not
   * prove itself; the caller then sends nothing.
   */
  async acquireSession(settings: ExtensionSettings, signal: AbortSignal): Promise<AttestOutcome> {
    await this.lazy();
    const generation = ++this.#generation;
    const before = this.#result;
    if (!(this.#attestor!.session && this.#result.kind === 'verified')) this.#setResult({ kind: 'verifying', server: settings.serverUrl! });
    const outcome = await this.#attestor!.acquire(settings, signal);
    if (generation !== this.#generation) return outcome;
    if (this.#wasCancelled(outcome, before, settings.serverUrl!)) return outcome;
    if (!outcome.ok || !outcome.reused) this.#applyOutcome(settings.serverUrl!, outcome, false);
    return outcome;
  }

  /** A cancelled attestation proves nothing: the status goes back to what it said before (or "not verified"). */
  #wasCancelled(outcome: AttestOutcome, before: AttestationResult, server: string): boolean {
    if (outcome.ok || outcome.failure.code !== 'CANCELLED') return false;
    this.log.info('attestation cancelled');
    this.#setResult(before.kind === 'verifying' ? { kind: 'unverified', server } : before);
    return true;
  }

  /** After a request over `session`: it may have attested again on its own, so the status follows it. */
  sessionUsed(session: AttestedSession, server: string): void {
    if (this.#attestor?.session !== session) return;
    const current = this.#result;
    if (current.kind !== 'verified' || current.attested !== session.attested) this.#setResult({ kind: 'verified', server, attested: session.attested });
  }

  /** An upload failed because the server stopped proving itself (a re-attestation inside the request failed). */
  async untrustedDuringUpload(server: string, failure: Failure): Promise<void> {
    ++this.#generation;
    await this.#attestor?.drop();
    this.#fail(server, failure, false);
  }

  /** Error notification: `CODE: sentence`, with *Show details* (the log) and, for attestation failures, *Show Attestation*. */
  showFailure(failure: Failure): void {
    this.#notify(failure);
  }

  async showAttestation(): Promise<void> {
    const lazy = await this.lazy();
    if (this.#panel) this.#panel.reveal();
    else {
      this.#panel = AttestationPanel.create(this.#extCtx.extensionUri, (m) => this.#onWebviewMessage(m), () => (this.#panel = undefined), this.log);
      this.log.info('opened the attestation view');
    }
    this.#panel.update(lazy.attestationViewModel(this.#result, this.#policy, new Date()));
    if (this.#result.kind === 'unverified') void this.verify('panel');
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
        void vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${EXTENSION_ID}`);
        break;
      case 'showLog':
        this.log.show(true);
        break;
      case 'ready':
        break;
    }
  }

  #applyOutcome(server: string, outcome: AttestOutcome, notify: boolean): void {
    this.#policy = outcome.policy;
    if (outcome.ok) {
      const { attestation, simulation } = outcome.session.attested;
      this.log.info(
        `verified ${server}: module ${attestation.moduleId}, PCR0 ${attestation.pcrs[0]?.slice(0, 16) ?? '(absent)'}…, document ${attestation.documentSha256.slice(0, 16)}…, root "${attestation.root.label}"${simulation ? ' — SIMULATION, not confidential' : ''}`,
      );
      this.#setResult({ kind: 'verified', server, attested: outcome.session.attested });
    } else {
      this.#fail(server, outcome.failure, notify, outcome.observed);
    }
  }

  #fail(server: string | undefined, failure: Failure, notify: boolean, observed?: Attested): void {
    this.log.error(`${server ?? '(no server)'}: ${failureLine(failure)}`);
    this.#setResult({ kind: 'failed', server, failure, at: Date.now(), ...(observed ? { observed } : {}) });
    if (notify) this.#notify(failure);
  }

  #notify(failure: Failure): void {
    const actions = failure.untrusted ? ['Show details', 'Show Attestation'] : ['Show details'];
    void vscode.window.showErrorMessage(notificationText(failure), ...actions).then((pick) => {
      if (pick === 'Show details') this.log.show(true);
      else if (pick === 'Show Attestation') void this.showAttestation();
    });
  }

  #setResult(result: AttestationResult): void {
    this.#result = result;
    this.#render();
  }

  #render(): void {
    this.#status.show(statusPresentation(this.#result, this.#policy?.name, Date.now()));
    if (this.#panel && this.#lazyLoaded) this.#panel.update(this.#lazyLoaded.attestationViewModel(this.#result, this.#policy, new Date()));
  }

  #refreshAge(): void {
    if (this.#result.kind === 'verified' || (this.#panel?.visible && this.#result.kind === 'failed')) this.#render();
  }

  dispose(): void {
    ++this.#generation;
    this.#panel?.dispose();
    void this.#attestor?.dispose();
    while (this.#extCleanup.length) this.#extCleanup.pop()?.dispose();
  }

  /** Closes the session (deactivate awaits it). */
  async stop(): Promise<void> {
    await this.#attestor?.dispose();
  }
}

function summary(result: AttestationResult): VerifySummary {
  switch (result.kind) {
    case 'verified':
      return { kind: result.kind, simulation: result.attested.simulation, moduleId: result.attested.attestation.moduleId };
    case 'failed':
      return { kind: result.kind, code: result.failure.code };
    default:
      return { kind: result.kind };
  }
}

function toDisposable(timer: ReturnType<typeof setInterval>): vscode.Disposable {
  return { dispose: () => clearInterval(timer) };
}
