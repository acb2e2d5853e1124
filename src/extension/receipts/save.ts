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
 * `speech.transcript.signed.<ext>` (the signed bytes), `speech.receipt.json` and, when the transcript is the active
 * untitled document, that document as shown (header included) under its own name (`speech.transcript.txt`, the tab's):
 * every file named like a tab holds what the tab holds. Returns the receipt's URI, or undefined when nothing was written.
 */
export async function saveTranscriptWithReceipt(ctx: SaveHost, transcript?: ShownTranscript): Promise<vscode.Uri | undefined> {
  const editor = vscode.window.activeTextEditor;
  const entry = transcript ?? ctx.transcripts.in(editor);
  if (!entry) {
    const refused = ctx.transcripts.refusal(editor);
    void vscode.window.showWarningMessage(refused ? `BlindBox: this streamed transcript is not verified (${refused}): no receipt covers it, so it cannot be saved with one. Transcribe the audio again.` : 'BlindBox: the active editor is not a transcript made in this window; transcribe the audio first.');
    return undefined;
  }
  const { receipts: services } = await ctx.services();
  const names = receiptFileNames(baseName(entry.audio.path), entry.wire);
  const folder = vscode.Uri.joinPath(entry.audio, '..');
  const target = (name: string) => vscode.Uri.joinPath(folder, name);
  const files = receiptFiles(services, entry, names).map(([name, text]): [vscode.Uri, string] => [target(name), text]);
  // A document saved beside the audio already is its file (saveNextToAudio); an untitled one is written under its name.
  const shown = editor && ctx.transcripts.in(editor) === entry ? editor.document : undefined;
  const document = shown?.uri.scheme === 'untitled' && vscode.Uri.joinPath(shown.uri, '..').path === folder.path ? shown : undefined;
  if (document) files.push([target(baseName(document.uri.path)), document.getText()]);
  await checkBesideAudio(services.files, entry.audio, files.map(([uri]) => uri));
  const existing = (await Promise.all(files.map(async ([uri]) => ((await exists(uri)) ? baseName(uri.path) : undefined)))).filter((n): n is string => n !== undefined);
  if (existing.length > 0) {
    const pick = await vscode.window.showWarningMessage(`BlindBox: replace ${existing.join(', ')}?`, { modal: true }, 'Replace');
    if (pick !== 'Replace') return undefined;
  }
  for (const [uri, text] of files) await writeAtomically(services.files, uri, text);
  const saved = files.map(([uri]) => baseName(uri.path));
  ctx.log.info(`saved ${saved.join(', ')} beside ${entry.audio.toString(true)}`);
  void vscode.window.showInformationMessage(`BlindBox: saved ${saved.slice(0, -1).join(', ')} and ${saved.at(-1)} beside ${baseName(entry.audio.path)}.`);
  return target(names.receipt);
}

/** What a transcript is saved as, each file's name and text: the signed bytes and the receipt. */
export function receiptFiles(services: Pick<ReceiptServices, 'receiptFileText'>, entry: ShownTranscript, names: ReceiptFileNames): [string, string][] {
  return [
    [names.signed, entry.body],
    [names.receipt, services.receiptFileText(entry.receipt.file)],
  ];
}
