/**
 * *Verify Receipt…*: a receipt file against an audio file and a transcript file, checked at the document's own time
 * under the roots and policy of the settings; what was proved, or why not, in a notification and the attestation view.
 */
import * as vscode from 'vscode';
import { baseName } from '../common/audio.js';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import { failureLine } from '../common/plain-text.js';
import { quoteServerText } from '../../shared/text.js';
import { pickedFileSize, readPickedFile } from '../files/picked.js';
import { receiptFileNames } from '../files/names.js';
import type { ReceiptServices } from '../services.js';

const SHOW_IN_VIEW = 'Show in Attestation View';

/**
 * `blindbox.verifyReceipt`: asks for a receipt, the audio and the transcript (defaulting to the files saved beside
 * it), verifies offline, and says what was proved, or why not, in a notification and in the attestation view.
 */
export async function verifyReceiptCommand(ctx: Ctx): Promise<boolean | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const receiptUri = await pickFile('Verify receipt', 'BlindBox: choose a receipt (.receipt.json)', folder, { Receipts: ['json'] });
  if (!receiptUri) return undefined;
  const { receipts: services } = await ctx.services();
  try {
    const receipt = services.parseReceiptFile(new TextDecoder().decode(await readPickedFile(services.files, receiptUri, services.MAX_RECEIPT_FILE_BYTES, 'receipt file')), baseName(receiptUri.path));
    const beside = vscode.Uri.joinPath(receiptUri, '..');
    const audio = await pickFile('Audio', `BlindBox: the audio ${quoteServerText(receipt.audio.name, 120)} the receipt is for`, vscode.Uri.joinPath(beside, receipt.audio.name));
    if (!audio) return undefined;
    const names = receiptFileNames(receipt.audio.name, receipt.transcript.format, 'text');
    const transcript = await pickFile('Transcript', 'BlindBox: the transcript file (the server\'s answer as saved)', vscode.Uri.joinPath(beside, names.signed));
    if (!transcript) return undefined;
    const trust = await services.loadTrust(await ctx.settings.read());
    const verified = services.verifyReceiptFile(receipt, {
      roots: trust.roots,
      // The settings' PCRs when they pin any; otherwise those the receipt's own policy recorded (never "any code" silently).
      expectedPcrs: Object.keys(trust.policy.pcrs).length > 0 ? trust.policy.pcrs : undefined,
      audioSha256: await hashOf(services, audio),
      transcriptSha256: await hashOf(services, transcript),
    });
    const simulation = verified.attestation.root.isAwsNitroRoot ? '' : ' (SIMULATION root: not a real enclave)';
    const statement = services.receiptStatement(verified);
    ctx.log.info(`receipt ${receiptUri.toString(true)} verified: ${statement}`);
    const check = { ok: true, file: baseName(receiptUri.path), text: `${statement}.${simulation ? ' SIMULATION root: not a real enclave.' : ''}`, checkedAt: Date.now() };
    await ctx.showReceiptCheck(check, false);
    void vscode.window.showInformationMessage(`BlindBox: receipt verified${simulation}: ${statement}.`, SHOW_IN_VIEW).then((pick) => pick && ctx.showReceiptCheck(check, true));
    return true;
  } catch (err) {
    const failure = describeFailure(err);
    ctx.log.error(`receipt ${receiptUri.toString(true)}: ${failureLine(failure)}`);
    const check = { ok: false, file: baseName(receiptUri.path), text: failureLine(failure), checkedAt: Date.now() };
    await ctx.showReceiptCheck(check, false);
    void vscode.window.showErrorMessage(`BlindBox: receipt refused: ${failureLine(failure)}`, SHOW_IN_VIEW).then((pick) => pick && ctx.showReceiptCheck(check, true));
    return false;
  }
}

async function pickFile(openLabel: string, title: string, defaultUri: vscode.Uri | undefined, filters?: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: true, canSelectFolders: false, openLabel, title, defaultUri, filters });
  return picked?.[0];
}

/** A local file is hashed as a stream; a remote one is read through the workspace file system. */
async function hashOf(services: ReceiptServices, uri: vscode.Uri): Promise<string> {
  if (uri.scheme === 'file') return services.sha256FileHex(uri.fsPath, 'file');
  await pickedFileSize(uri, 'file');
  return services.sha256Hex(await vscode.workspace.fs.readFile(uri));
}
