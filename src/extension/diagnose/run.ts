/**
 * *BlindBox: Network Diagnostics* without the editor: the core's diagnosis (core/diagnose/) of the configured server
 * under this window's trust settings and its route (VS Code's http.* proxy settings, the extension host's environment,
 * and the system or PAC proxy VS Code's own resolver names, as a verification takes them: trust/attestor.ts).
 */
import { renderDiagnostics, runDiagnostics, type DiagnosticReport, type DiagnosticStep } from '../../core/index.js';
import type { ExtensionSettings } from '../settings/model.js';
import { windowConnection } from '../trust/window-connection.js';

export interface WindowDiagnosis {
  readonly report: DiagnosticReport;
  /** The report as the text a user pastes into a ticket. */
  readonly text: string;
}

/**
 * Diagnoses the way to `settings.serverUrl` (which must be set). Throws `SettingsError` when the trust files cannot be
 * read; what the network does is in the report, never thrown.
 */
export async function diagnoseServer(settings: ExtensionSettings & { serverUrl: string }, appRoot: string | undefined, signal: AbortSignal, onStep: (step: DiagnosticStep, index: number, of: number) => void): Promise<WindowDiagnosis> {
  const report = await runDiagnostics(settings.serverUrl, {
    ...(await windowConnection(settings, appRoot)),
    signal,
    onStep,
  });
  return { report, text: renderDiagnostics(report) };
}
