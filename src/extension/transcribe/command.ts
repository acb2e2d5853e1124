/**
 * *Transcribe*: which audio files a click means (explorer selection or folder, active editor, open dialog), then one
 * batch under one cancellable progress notification: batch.ts runs each file through check → attest (the
 * trust controller's session: nothing is sent unless the server proves itself) → send → document, with the steps of
 * steps.ts. A batch writes its transcripts and receipts where it was told once (batch-output.ts) and ends with one
 * summary, which offers the next step.
 */
import * as vscode from 'vscode';
import { AUDIO_DIALOG_FILTERS, baseName, isAudioPath } from '../common/audio.js';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import { NOT_CONFIGURED } from '../notifications/notifications.js';
import { failureLine } from '../common/plain-text.js';
import type { Services } from '../services.js';
import type { ExtensionSettings } from '../settings/model.js';
import { batchSummary, openedDocuments, runBatch, type BatchSummary } from './batch.js';
import { askDestination, BatchOutput, type BatchDestination } from './batch-output.js';
import { transcriptionSteps } from './steps.js';
import { BatchProgress } from './progress.js';

/**
 * `blindbox.transcribe` / `blindbox.transcribeFromExplorer`. Explorer menus pass
 * the clicked file (or folder) and the whole selection; from the palette, the
 * active editor's file is used when it is audio, else an open dialog asks.
 * Returns the URIs of the opened transcript documents.
 */
export async function transcribeCommand(ctx: Ctx, uri: unknown, uris: unknown): Promise<vscode.Uri[]> {
  let targets = Array.isArray(uris) && uris.length > 0 ? uris.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : uri instanceof vscode.Uri ? [uri] : [];
  if (targets.length === 0) {
    const active = activeResource();
    if (active && isAudioPath(active.path)) targets = [active];
  }
  if (targets.length === 0) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: true,
      canSelectFiles: true,
      canSelectFolders: false,
      filters: { ...AUDIO_DIALOG_FILTERS },
      openLabel: 'Transcribe',
      title: 'BlindBox: choose audio to transcribe',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!picked || picked.length === 0) return [];
    targets = picked;
  }
  const expanded = (await Promise.all(targets.map(audioIn))).flat();
  const audio = expanded.filter((u) => isAudioPath(u.path));
  const skipped = expanded.length - audio.length;
  if (skipped > 0) {
    ctx.log.warn(`skipped ${skipped} selected item(s) that are not audio files`);
    void vscode.window.showWarningMessage(`BlindBox: skipped ${skipped} selected item(s) that are not audio files (.${AUDIO_DIALOG_FILTERS.Audio!.join(' .')}).`);
  }
  if (audio.length === 0) {
    if (skipped === 0) void vscode.window.showInformationMessage('BlindBox: there is no audio file to transcribe in the selection.');
    return [];
  }

  return transcribeFiles(ctx, audio);
}

/**
 * Transcribes `audio`: one file into a document, several into files written where `destination` says (asked now when
 * not given: *Retry* and *Transcribe the remaining* keep the batch's). Returns the URIs of the transcripts.
 */
async function transcribeFiles(ctx: Ctx, audio: readonly vscode.Uri[], destination?: BatchDestination): Promise<vscode.Uri[]> {
  let services: Services;
  let settings: ExtensionSettings;
  try {
    services = await ctx.services();
    settings = await ctx.settings.read();
  } catch (err) {
    const failure = describeFailure(err);
    ctx.log.error(`${failureLine(failure)}`);
    ctx.notifications.showFailure(failure);
    return [];
  }
  const server = settings.serverUrl;
  if (!server) {
    ctx.notifications.showFailure(NOT_CONFIGURED);
    return [];
  }
  ctx.clearReceiptCheck();
  const batch = audio.length > 1;
  destination ??= batch ? await askDestination(ctx.memento, audio.length, audio[0]!) : undefined;
  if (batch && !destination) return [];
  const output = destination && new BatchOutput(destination, { log: ctx.log, services });
  const files = audio.map((file) => ({ file, name: baseName(file.path) }));
  const title = batch ? `BlindBox: ${audio.length} files` : `BlindBox: ${files[0]!.name}`;
  const end = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort());
    const job = { ctx, services: services.transcribe, settings: { ...settings, serverUrl: server }, signal: abort.signal, batch, ...(output ? { output } : {}) };
    try {
      const end = await runBatch(files, {
        ...transcriptionSteps(job),
        attest: async () => {
          const got = await ctx.trust.acquire(job.settings, abort.signal);
          if (!got.ok) return got;
          ctx.log.info(`transcribing ${audio.length} file(s), up to ${settings.concurrency} at a time, over attested connections to ${server} (${got.reused ? 'reused' : 'new'} session)`);
          return { ok: true, session: { session: got.session, policy: got.policy } };
        },
      }, { concurrency: settings.concurrency, abort, progress: new BatchProgress(audio.length, progress) });
      return { end, cancelled: token.isCancellationRequested };
    } finally {
      cancelled.dispose();
    }
  });
  if (end.end.kind === 'not attested') {
    if (end.end.failure.code === 'CANCELLED' || end.cancelled) {
      ctx.log.info('cancelled before anything was sent');
      return [];
    }
    // The status bar already says FAILED; no byte of audio was sent.
    ctx.log.error(`not sent (${audio.length} file(s)): ${end.end.failure.code}`);
    ctx.notifications.showFailure(end.end.failure);
    return [];
  }
  const written = openedDocuments(end.end.records);
  if (written.length > 0) ctx.walkthrough.transcribed();
  if (output) summarise(ctx, batchSummary(end.end.records, end.cancelled, end.end.kind === 'sent' ? end.end.stopped : undefined), output.destination, written);
  return written;
}

const OPEN_TRANSCRIPTS = 'Open transcripts…';
const SHOW_LOG = 'Show Log';

/**
 * One message for the whole batch: how many were transcribed and where they are, which failed and why, or that the
 * server stopped answering; with what to do next (open or reveal the transcripts, try the failed or remaining files).
 */
function summarise(ctx: Ctx, summary: BatchSummary<vscode.Uri>, destination: BatchDestination, written: readonly vscode.Uri[]): void {
  const where = written.length === 0 ? '' : destination.kind === 'folder' ? ` Transcripts and receipts are in ${baseName(destination.folder.path)}.` : ' Transcripts and receipts are beside the audio.';
  const message = `${summary.message}${where}`;
  const reveal = revealAction(written[0]);
  const retry = summary.failed.length ? `Retry the ${summary.failed.length} failed` : undefined;
  const rest = summary.remaining.length ? `Transcribe the remaining ${summary.remaining.length}` : undefined;
  const actions = [...(written.length ? [OPEN_TRANSCRIPTS, reveal.label] : []), ...(retry ? [retry] : []), ...(rest ? [rest] : [])];
  // The log has each failure's details; offered while the toast has room for it (four buttons are cut short).
  if (!summary.complete && actions.length < 3) actions.push(SHOW_LOG);
  ctx.log.info(message);
  const shown = summary.complete ? vscode.window.showInformationMessage(message, ...actions) : vscode.window.showWarningMessage(message, ...actions);
  void shown.then(async (pick) => {
    if (pick === undefined) return;
    if (pick === OPEN_TRANSCRIPTS) await openTranscripts(written);
    else if (pick === reveal.label) await reveal.run();
    else if (pick === retry) await transcribeFiles(ctx, summary.failed, destination);
    else if (pick === rest) await transcribeFiles(ctx, summary.remaining, destination);
    else if (pick === SHOW_LOG) ctx.log.show();
  });
}

/** *Open transcripts…*: the ones picked, each in its own tab. */
async function openTranscripts(written: readonly vscode.Uri[]): Promise<void> {
  const items = written.map((uri) => ({ label: baseName(uri.path), description: vscode.workspace.asRelativePath(vscode.Uri.joinPath(uri, '..')), uri }));
  const picked = await vscode.window.showQuickPick(items, { title: 'BlindBox: open transcripts', canPickMany: true, matchOnDescription: true });
  for (const { uri } of picked ?? []) await vscode.window.showTextDocument(uri, { preview: false, preserveFocus: true });
}

/** *Reveal in Explorer* where the explorer shows the file (it is in the workspace), else the OS file manager. */
function revealAction(first: vscode.Uri | undefined): { readonly label: string; run(): Thenable<unknown> } {
  const inWorkspace = first !== undefined && vscode.workspace.getWorkspaceFolder(first) !== undefined;
  return inWorkspace
    ? { label: 'Reveal in Explorer', run: () => vscode.commands.executeCommand('revealInExplorer', first) }
    : { label: 'Reveal in File Manager', run: () => vscode.commands.executeCommand('revealFileInOS', first) };
}

/** A folder stands for the audio files directly in it (sorted by name); anything else for itself. */
async function audioIn(target: vscode.Uri): Promise<vscode.Uri[]> {
  let type: vscode.FileType;
  try {
    type = (await vscode.workspace.fs.stat(target)).type;
  } catch {
    return [target]; // reading it reports the problem
  }
  if (!(type & vscode.FileType.Directory)) return [target];
  const entries = await vscode.workspace.fs.readDirectory(target);
  return entries
    .filter(([name, t]) => (t & vscode.FileType.File) !== 0 && isAudioPath(name))
    .map(([name]) => name)
    .sort()
    .map((name) => vscode.Uri.joinPath(target, name));
}

/** The file shown in the active editor or tab (audio opens in a binary or custom editor, not a text editor). */
function activeResource(): vscode.Uri | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor) return editor.document.uri;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  return undefined;
}
