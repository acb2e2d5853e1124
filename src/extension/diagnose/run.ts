/**
 * *BlindBox: Network Diagnostics* without the editor: the core's diagnosis (core/diagnose/) of the configured server
 * under this window's trust settings and its route (VS Code's http.* proxy settings, the extension host's environment,
 * and the system or PAC proxy VS Code's own resolver names, as a verification takes them: trust/attestor.ts).
 */
import { renderDiagnostics, runDiagnostics, type DiagnosticReport, type DiagnosticStep } from '../../core/index.js';
import type { ExtensionSettings } from '../settings/model.js';
import { windowConnection } from '../trust/window-connection.js';

/** What the report says about the window that diagnosed, and where VS Code's own proxy resolver lives. */
export interface DiagnosingWindow {
  /** `BlindBox for VS Code <version> (VS Code <version>, …)`: the report's client line. */
  readonly client: string;
  readonly appRoot: string | undefined;
}

export interface WindowDiagnosis {
  readonly report: DiagnosticReport;
  /** The report as the text a user pastes into a ticket. */
  readonly text: string;
}

/**
 * Diagnoses the way to `settings.serverUrl` (which must be set). Throws `SettingsError` when the trust files cannot be
 * read; what the network does is in the report, never thrown.
 */
export async function diagnoseServer(settings: ExtensionSettings & { serverUrl: string }, window: DiagnosingWindow, signal: AbortSignal, onStep: (step: DiagnosticStep, index: number, of: number) => void): Promise<WindowDiagnosis> {
  const report = await runDiagnostics(settings.serverUrl, {
    ...(await windowConnection(settings, window.appRoot)),
    signal,
    onStep,
  });
  return { report, text: renderDiagnostics(report, [['client', window.client]]) };
}
