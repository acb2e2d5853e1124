/**
 * *BlindBox: Network Diagnostics*: diagnoses the configured server under a cancellable progress notification (one
 * message per step; Cancel stops it and opens nothing), then opens the report in an untitled plain-text document the user can paste into a ticket, and
 * writes it to the log. Only TLS handshakes and the attestation request are sent; the session in force is untouched.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import type { WindowDiagnosis } from './run.js';

/** `BlindBox for VS Code <version> (VS Code <version>, <ui kind>[, remote <name>])`. */
function clientDescription(ctx: Ctx): string {
  const where = [vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop', ...(vscode.env.remoteName ? [`remote ${vscode.env.remoteName}`] : [])];
  return `BlindBox for VS Code ${ctx.version} (VS Code ${vscode.version}, ${where.join(', ')})`;
}

export async function networkDiagnosticsCommand(ctx: Ctx): Promise<WindowDiagnosis | undefined> {
  let diagnosis: WindowDiagnosis;
  const abort = new AbortController();
  try {
    const settings = await ctx.settings.read();
    const server = settings.serverUrl;
    if (server === undefined) return undefined;
    const { diagnose } = await ctx.services();
    ctx.log.info(`network diagnostics of ${server}`);
    diagnosis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BlindBox: diagnosing the way to ${server}`, cancellable: true }, (progress, token) => {
      const cancelled = token.onCancellationRequested(() => abort.abort());
      const onStep = (step: { title: string; status: string }, index: number, of: number) => progress.report({ message: `${index + 1} of ${of}: ${step.title}: ${step.status}`, increment: 100 / of });
      return diagnose.diagnoseServer({ ...settings, serverUrl: server }, { client: clientDescription(ctx), appRoot: vscode.env.appRoot }, abort.signal, onStep).finally(() => cancelled.dispose());
    });
  } catch (err) {
    ctx.notifications.showFailure(describeFailure(err));
    return undefined;
  }
  // Cancelled: the report would only say so; nothing is opened.
  if (abort.signal.aborted) {
    ctx.log.info('network diagnostics cancelled');
    return undefined;
  }
  for (const line of diagnosis.text.trimEnd().split('\n')) ctx.log.info(line);
  const doc = await vscode.workspace.openTextDocument({ content: diagnosis.text, language: 'plaintext' });
  await vscode.window.showTextDocument(doc, { preview: false });
  return diagnosis;
}
