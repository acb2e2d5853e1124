/**
 * *Verify Receipt…*: a receipt file against an audio file and a transcript file, checked at the document's own time
 * under the roots and policy of the settings; what was proved, or why not, in a notification and the attestation view.
 */
import * as vscode from 'vscode';
import { baseName } from '../common/audio.js';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import { defuseLinks, failureLine } from '../common/plain-text.js';
import { ReceiptError, type CheckedHash } from '../../core/errors.js';
import { exists } from '../files/beside-audio.js';
import type { ReceiptCheck } from '../views/attestation/model.js';
import { quoteServerText } from '../../shared/text.js';
import { pickedFileSize, readPickedFile } from '../files/picked.js';
import { receiptFileNames } from '../files/names.js';
import type { ReceiptServices } from '../services.js';

const SHOW_IN_VIEW = 'Show in Attestation View';
const COMPARE = 'Compare with the signed text';

/**
 * `blindbox.verifyReceipt`: asks for a receipt, the audio and the transcript (defaulting to the files saved beside
 * it), verifies offline, and says what was proved, or why not, in a notification and in the attestation view: a
 * refusal in words first (which file differs), its code and hashes as details, and *Compare with the signed text*
 * when the signed text is at hand.
 */
export async function verifyReceiptCommand(ctx: Ctx): Promise<boolean | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const receiptUri = await pickFile('Verify receipt', 'BlindBox: choose a receipt (.receipt.json)', folder, { Receipts: ['json'] });
  if (!receiptUri) return undefined;
  const { receipts: services } = await ctx.services();
  const beside = vscode.Uri.joinPath(receiptUri, '..');
  let transcript: vscode.Uri | undefined;
  let signedName: string | undefined;
  try {
    const receipt = services.parseReceiptFile(new TextDecoder().decode(await readPickedFile(services.files, receiptUri, services.MAX_RECEIPT_FILE_BYTES, 'receipt file')), baseName(receiptUri.path));
    const audio = await pickFile('Audio', `BlindBox: the audio ${quoteServerText(receipt.audio.name, 120)} the receipt is for`, vscode.Uri.joinPath(beside, receipt.audio.name));
    if (!audio) return undefined;
    signedName = receiptFileNames(receipt.audio.name, receipt.transcript.format).signed;
    transcript = await pickFile('Transcript', 'BlindBox: the transcript file (the server\'s answer as saved)', vscode.Uri.joinPath(beside, signedName));
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
    const hashes = err instanceof ReceiptError ? err.hashes : undefined;
    const signed = hashes && transcript && signedName ? await signedTextFor(ctx, services, hashes.transcript, transcript, vscode.Uri.joinPath(beside, signedName)) : undefined;
    const compare = signed && transcript ? diff(signed, transcript) : undefined;
    const check: ReceiptCheck = {
      ok: false,
      file: baseName(receiptUri.path),
      text: defuseLinks(failure.message),
      details: [`code ${failure.code}`, ...(hashes ? services.receiptHashLines(hashes) : [])],
      ...(hashes ? { matches: { audio: hashes.audio.checked === hashes.audio.signed, transcript: hashes.transcript.checked === hashes.transcript.signed } } : {}),
      ...(compare ? { compare } : {}),
      checkedAt: Date.now(),
    };
    await ctx.showReceiptCheck(check, false);
    const actions = compare ? [COMPARE, SHOW_IN_VIEW] : [SHOW_IN_VIEW];
    void vscode.window.showErrorMessage(`BlindBox: receipt refused: ${check.text} (${failure.code})`, ...actions).then((pick) => {
      if (pick === COMPARE) compare?.();
      else if (pick === SHOW_IN_VIEW) void ctx.showReceiptCheck(check, true);
    });
    return false;
  }
}

/**
 * The text the enclave signed, when it is at hand and is not the file checked: a transcript of this window whose
 * receipt binds it, else the signed file saved beside the receipt if it still hashes to it.
 */
async function signedTextFor(ctx: Ctx, services: ReceiptServices, hash: CheckedHash, checked: vscode.Uri, savedSigned: vscode.Uri): Promise<vscode.Uri | undefined> {
  if (hash.checked === hash.signed) return undefined;
  const inWindow = ctx.transcripts.signedText(hash.signed, baseName(savedSigned.path));
  if (inWindow) return inWindow;
  if (savedSigned.toString() === checked.toString() || !(await exists(savedSigned))) return undefined;
  try {
    return (await hashOf(services, savedSigned)) === hash.signed ? savedSigned : undefined;
  } catch {
    return undefined;
  }
}

/** Opens the diff editor: the signed text on the left, the checked transcript on the right. */
function diff(signed: vscode.Uri, checked: vscode.Uri): () => void {
  return () => void vscode.commands.executeCommand('vscode.diff', signed, checked, `${baseName(signed.path)} (signed) ↔ ${baseName(checked.path)}`);
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
