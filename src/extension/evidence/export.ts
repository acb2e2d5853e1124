/** The evidence export flow: verify if there is nothing to export, ask where, write the JSON there and nowhere else. */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { baseName } from '../common/audio.js';
import type { Ctx } from '../ctx.js';

/**
 * `blindbox.exportEvidence`: JSON evidence of the current attestation (verifying first when there is none), written
 * only where the user chose in the save dialog. Any extension, or a `command:` link, can run this command with
 * arguments, so a target passed that way is ignored: otherwise it could overwrite any file the editor may write.
 */
export async function exportEvidence(ctx: Ctx, targetPassed: boolean): Promise<vscode.Uri | undefined> {
  if (targetPassed) ctx.log.warn('exportEvidence: ignored the target passed with the command; the evidence is written only where you choose in the save dialog');
  if (ctx.trust.state.kind !== 'verified' && ctx.trust.state.kind !== 'failed') await ctx.verification.verify('command');
  const state = ctx.trust.state;
  if (state.kind !== 'verified' && state.kind !== 'failed') {
    void vscode.window.showWarningMessage('BlindBox: there is no attestation to export yet; set blindbox.serverUrl and verify first.');
    return undefined;
  }
  const { evidence: services } = await ctx.services();
  const now = new Date();
  const evidence = services.buildEvidence(state, now);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(homedir());
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(folder, services.evidenceFileName(evidence.server, now)),
    filters: { 'Evidence (JSON)': ['json'] },
    saveLabel: 'Export evidence',
    title: 'BlindBox: export attestation evidence',
  });
  if (!target) return undefined;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(JSON.stringify(evidence, null, 2) + '\n'));
  ctx.log.info(`exported attestation evidence (${evidence.verdict.ok ? 'verified' : evidence.verdict.code}) to ${target.toString(true)}`);
  void vscode.window.showInformationMessage(`BlindBox: attestation evidence saved to ${baseName(target.path)}.`, 'Open').then((pick) => {
    if (pick === 'Open') void vscode.window.showTextDocument(target);
  });
  return target;
}
