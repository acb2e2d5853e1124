/**
 * Where a batch's transcripts go, and writing them there. Asked once, at the start of a batch: beside each audio file
 * or into one folder (the last answer offered first). Each file's transcript is written with its receipt at names not
 * yet taken (`-2`, `-3`, …, as an untitled transcript is named), never over an existing file; only the batch's first
 * transcript opens, and without taking the focus, so a batch of 30 leaves 30 saved files, not 30 dirty tabs.
 */
import * as vscode from 'vscode';
import { InputError } from '../../core/errors.js';
import { oneLine } from '../../shared/text.js';
import { baseName } from '../common/audio.js';
import { checkBesideAudio, exists, writeAtomically } from '../files/beside-audio.js';
import { documentFileName, receiptFileNames } from '../files/names.js';
import type { ShownTranscript } from '../receipts/opened-transcripts.js';
import { receiptFiles } from '../receipts/save.js';
import type { FileServices, ReceiptServices } from '../services.js';

/** Beside each audio file, or all into one folder. */
export type BatchDestination = { readonly kind: 'beside' } | { readonly kind: 'folder'; readonly folder: vscode.Uri };

/** Where the last batch's transcripts went (globalState): offered first next time. */
const REMEMBERED_KEY = 'blindbox.batchDestination';

/** Names tried (`-2` … `-20`) before a file is refused for want of a free name. */
const MAX_NAME_TRIES = 20;

type DestinationItem = vscode.QuickPickItem & { readonly destination?: BatchDestination };

/** Asks where the `count` transcripts of a batch go (the first item, the last answer, is the default); undefined if dismissed. */
export async function askDestination(memento: vscode.Memento, count: number, firstAudio: vscode.Uri): Promise<BatchDestination | undefined> {
  const last = rememberedDestination(memento);
  const stem = baseName(firstAudio.path);
  const beside: DestinationItem = { label: '$(file-media) Beside each audio file', detail: `e.g. ${documentName(stem)} and its receipt next to ${stem}`, destination: { kind: 'beside' } };
  const choose: DestinationItem = { label: '$(folder-opened) Into one folder…', detail: 'choose the folder' };
  const items = last?.kind === 'folder' ? [{ label: `$(folder) Into ${shown(last.folder)}`, detail: 'the folder chosen last time', destination: last }, beside, choose] : [beside, choose];
  const picked = await vscode.window.showQuickPick(items, { title: `BlindBox: where should the ${count} transcripts and their receipts go?`, ignoreFocusOut: true });
  if (!picked) return undefined;
  let destination = picked.destination;
  if (!destination) {
    const folder = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Save the transcripts here',
      title: `BlindBox: the folder for ${count} transcripts and their receipts`,
      defaultUri: last?.kind === 'folder' ? last.folder : vscode.Uri.joinPath(firstAudio, '..'),
    });
    if (!folder?.[0]) return undefined;
    destination = { kind: 'folder', folder: folder[0] };
  }
  await memento.update(REMEMBERED_KEY, destination.kind === 'folder' ? { kind: 'folder', folder: destination.folder.toString() } : { kind: 'beside' });
  return destination;
}

function rememberedDestination(memento: vscode.Memento): BatchDestination | undefined {
  const stored = memento.get<{ kind?: unknown; folder?: unknown }>(REMEMBERED_KEY);
  if (stored?.kind === 'beside') return { kind: 'beside' };
  if (stored?.kind === 'folder' && typeof stored.folder === 'string') return { kind: 'folder', folder: vscode.Uri.parse(stored.folder) };
  return undefined;
}

function documentName(audioName: string): string {
  return documentFileName(audioName, 'text');
}

function shown(uri: vscode.Uri): string {
  return oneLine(uri.scheme === 'file' ? uri.fsPath : uri.toString(true), 120);
}

/** What writing needs from the extension. */
export interface OutputHost {
  readonly log: Pick<vscode.LogOutputChannel, 'info'>;
  readonly services: { readonly receipts: Pick<ReceiptServices, 'receiptFileText'>; readonly files: FileServices };
}

/** The files one batch writes: each transcript with its receipt, at free names; the first one opened. */
export class BatchOutput {
  /** Paths this batch is writing: two files of one batch (same name, one folder) never take one name. */
  readonly #claimed = new Set<string>();
  #openedFirst = false;

  constructor(
    readonly destination: BatchDestination,
    private readonly host: OutputHost,
  ) {}

  /** The folder the transcript of `audio` goes to. */
  folderOf(audio: vscode.Uri): vscode.Uri {
    return this.destination.kind === 'folder' ? this.destination.folder : vscode.Uri.joinPath(audio, '..');
  }

  /**
   * Writes `transcript` as the signed bytes, its receipt and `document` (the text a one-file transcription shows, its
   * provenance header included, under the name its tab would have); returns the document's URI. The batch's first
   * transcript opens, without taking the focus.
   */
  async write(transcript: ShownTranscript, document: string): Promise<vscode.Uri> {
    const { log, services } = this.host;
    const folder = this.folderOf(transcript.audio);
    const audioName = baseName(transcript.audio.path);
    for (let n = 1; n <= MAX_NAME_TRIES; n++) {
      const documentName = documentFileName(audioName, transcript.documentFormat, n);
      const files = [...receiptFiles(services.receipts, transcript, receiptFileNames(audioName, transcript.wire, n)), [documentName, document] as [string, string]].map(
        ([name, text]): [vscode.Uri, string] => [vscode.Uri.joinPath(folder, name), text],
      );
      const keys = files.map(([uri]) => uri.toString());
      // Claimed before the first await: two files of the batch finishing together must not pick the same free name.
      if (keys.some((k) => this.#claimed.has(k))) continue;
      for (const k of keys) this.#claimed.add(k);
      if ((await Promise.all(files.map(([uri]) => exists(uri)))).some(Boolean)) continue;
      await checkBesideAudio(services.files, transcript.audio, files.map(([uri]) => uri));
      for (const [uri, text] of files) await writeAtomically(services.files, uri, text);
      const written = vscode.Uri.joinPath(folder, documentName);
      log.info(`saved ${files.map(([uri]) => baseName(uri.path)).join(', ')} in ${shown(folder)}`);
      if (!this.#openedFirst) {
        this.#openedFirst = true;
        await vscode.window.showTextDocument(written, { preview: true, preserveFocus: true });
      }
      return written;
    }
    throw new InputError('UNSAFE_OUTPUT_PATH', `no free name for the transcript of ${oneLine(audioName, 200)} in ${shown(folder)}: ${MAX_NAME_TRIES} are taken; nothing written`);
  }
}
