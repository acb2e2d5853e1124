/**
 * The *Verify* flow: attests the configured server now (a fresh document). From an explicit command it runs under a
 * progress notification with Cancel and says how it ended; in the background (start-up, a settings change, the panel)
 * it only updates the state, hence the status bar and the log. The controller drops outcomes a newer verification
 * superseded; the command then answers with the newer one's. The Attestor bounds each attempt in time.
 */
import * as vscode from 'vscode';
import type { SettingsReader } from './settings/reader.js';
import { describeFailure } from './common/failure.js';
import type { Notifications } from './notifications/notifications.js';
import type { ExtensionSettings } from './settings/model.js';
import type { TrustController } from './trust/controller.js';
import { isSimulation, primaryEnclave, type TrustKind, type TrustState } from './trust/trust-state.js';

/** Why a verification runs: only explicit commands notify; background ones update the status bar and the log. */
export type VerifyTrigger = 'startup' | 'settings' | 'command' | 'panel' | 'upload';

/** What `blindbox.verify` returns (for tests and other extensions). */
export interface VerifySummary {
  readonly kind: TrustKind;
  readonly code?: string;
  readonly simulation?: boolean;
  readonly moduleId?: string;
}

/** How much longer than its own time bound (`requestTimeoutSeconds` + 2 s) an overtaking verification is waited for. */
const SETTLE_MARGIN_MS = 5_000;

export class Verification {
  readonly #trust: TrustController;
  readonly #settings: SettingsReader;
  readonly #notifications: Notifications;
  readonly #log: vscode.LogOutputChannel;
  /** The invalid-settings message last notified in the background (one notification per distinct problem). */
  #notifiedInvalid: string | undefined;

  constructor(trust: TrustController, settings: SettingsReader, notifications: Notifications, log: vscode.LogOutputChannel) {
    this.#trust = trust;
    this.#settings = settings;
    this.#notifications = notifications;
    this.#log = log;
  }

  async verify(trigger: VerifyTrigger): Promise<VerifySummary> {
    const notify = trigger === 'command';
    let settings: ExtensionSettings;
    try {
      settings = await this.#settings.read();
    } catch (err) {
      const failure = describeFailure(err);
      await this.#trust.settingsInvalid(this.#settings.serverUrl(), failure);
      // Explicit commands always say it; in the background, one notification per distinct problem (not only a red status item).
      if (notify || this.#notifiedInvalid !== failure.message) this.#notifications.showFailure(failure);
      this.#notifiedInvalid = failure.message;
      return summary(this.#trust.state);
    }
    this.#notifiedInvalid = undefined;
    const server = settings.serverUrl;
    if (server) this.#log.info(`verifying ${server} (${trigger})`);
    let cancelledByUser = false;
    const state = notify && server
      ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BlindBox: verifying ${server}…`, cancellable: true }, (_progress, token) => {
          const abort = new AbortController();
          const cancelled = token.onCancellationRequested(() => {
            cancelledByUser = true;
            abort.abort();
          });
          return this.#trust.verify(settings, abort.signal).finally(() => cancelled.dispose());
        })
      : await this.#trust.verify(settings);
    // No state and not cancelled here: a newer verification overtook this one, and its outcome answers the command.
    // Cancelled by the user: nothing to say (the state went back to what it said before).
    const outcome = !notify || cancelledByUser ? undefined : (state ?? (await this.#trust.settled(settings.requestTimeoutMs + SETTLE_MARGIN_MS)));
    if (outcome) this.#notifications.announce(outcome);
    return summary(this.#trust.state);
  }

  /**
   * Writes settings with `write` (*Configure Server…*), then verifies once under all of them, with the explicit
   * command's notifications: no attestation runs under a half-written configuration.
   */
  async afterWriting(write: () => Promise<void>): Promise<VerifySummary> {
    await this.#settings.whileWriting(write);
    return this.verify('command');
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
