/**
 * *Save Transcript with Receipt*: the server's exact answer, its receipt, and the Markdown view when the document is
 * one, written beside the audio.
 */
import * as vscode from 'vscode';
import { baseName } from '../common/audio.js';
import { checkBesideAudio, exists, writeAtomically } from '../files/beside-audio.js';
import { receiptFileNames, type ReceiptFileNames } from '../files/names.js';
import type { ReceiptServices } from '../services.js';
import type { OpenedTranscripts, ShownTranscript } from './opened-transcripts.js';

/** What saving needs from the extension: its log, the transcripts opened in this window, the receipts' services. */
export interface SaveHost {
  readonly log: vscode.LogOutputChannel;
  readonly transcripts: OpenedTranscripts;
  services(): Promise<{ readonly receipts: ReceiptServices }>;
}

/**
 * `blindbox.saveTranscriptWithReceipt`: for the active transcript document (or `transcript`), writes beside the audio
 * `speech.transcript.<ext>` (the signed bytes), `speech.receipt.json` and, for Markdown, `speech.transcript.md`.
 * Returns the receipt's URI, or undefined when nothing was written.
 */
export async function saveTranscriptWithReceipt(ctx: SaveHost, transcript?: ShownTranscript): Promise<vscode.Uri | undefined> {
  const editor = vscode.window.activeTextEditor;
  const entry = transcript ?? ctx.transcripts.in(editor);
  if (!entry) {
    void vscode.window.showWarningMessage('BlindBox: the active editor is not a transcript made in this window; transcribe the audio first.');
    return undefined;
  }
  const { receipts: services } = await ctx.services();
  const names = receiptFileNames(baseName(entry.audio.path), entry.wire, entry.documentFormat);
  const folder = vscode.Uri.joinPath(entry.audio, '..');
  const target = (name: string) => vscode.Uri.joinPath(folder, name);
  const rendered = names.rendered && editor && ctx.transcripts.in(editor) === entry ? editor.document.getText() : undefined;
  const files = receiptFiles(services, entry, names, rendered).map(([name, text]): [vscode.Uri, string] => [target(name), text]);
  await checkBesideAudio(services.files, entry.audio, files.map(([uri]) => uri));
  const existing = (await Promise.all(files.map(async ([uri]) => ((await exists(uri)) ? baseName(uri.path) : undefined)))).filter((n): n is string => n !== undefined);
  if (existing.length > 0) {
    const pick = await vscode.window.showWarningMessage(`BlindBox: replace ${existing.join(', ')}?`, { modal: true }, 'Replace');
    if (pick !== 'Replace') return undefined;
  }
  for (const [uri, text] of files) await writeAtomically(services.files, uri, text);
  ctx.log.info(`saved ${files.map(([uri]) => baseName(uri.path)).join(', ')} beside ${entry.audio.toString(true)}`);
  void vscode.window.showInformationMessage(`BlindBox: saved ${names.signed} and ${names.receipt} beside ${baseName(entry.audio.path)}.`);
  return target(names.receipt);
}

/**
 * What a transcript is saved as, each file's name and text: the signed bytes, the receipt, and the rendered Markdown
 * document when there is one (`rendered`, its text).
 */
export function receiptFiles(services: Pick<ReceiptServices, 'receiptFileText'>, entry: ShownTranscript, names: ReceiptFileNames, rendered: string | undefined): [string, string][] {
  const files: [string, string][] = [
    [names.signed, entry.body],
    [names.receipt, services.receiptFileText(entry.receipt.file)],
  ];
  if (names.rendered && rendered !== undefined) files.push([names.rendered, rendered]);
  return files;
}
