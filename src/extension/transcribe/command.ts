/**
 * *Transcribe*: which audio files a click means (explorer selection or folder, active editor, open dialog), then one
 * batch under one cancellable progress notification: batch.ts runs each file through check → attest (the
 * trust controller's session: nothing is sent unless the server proves itself) → send → document, with the steps of
 * steps.ts. A batch ends with one summary.
 */
import * as vscode from 'vscode';
import { AUDIO_DIALOG_FILTERS, baseName, isAudioPath } from '../common/audio.js';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import { NOT_CONFIGURED } from '../notifications/notifications.js';
import { failureLine } from '../common/plain-text.js';
import type { TranscribeServices } from '../services.js';
import type { ExtensionSettings } from '../settings/model.js';
import { batchSummary, openedDocuments, runBatch } from './batch.js';
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

  let services: TranscribeServices;
  let settings: ExtensionSettings;
  try {
    services = (await ctx.services()).transcribe;
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
  const files = audio.map((file) => ({ file, name: baseName(file.path) }));
  const title = batch ? `BlindBox: ${audio.length} files` : `BlindBox: ${files[0]!.name}`;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort());
    const job = { ctx, services, settings: { ...settings, serverUrl: server }, signal: abort.signal, batch };
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
      if (end.kind === 'not attested') {
        if (end.failure.code === 'CANCELLED' || token.isCancellationRequested) {
          ctx.log.info('cancelled before anything was sent');
          return [];
        }
        // The status bar already says FAILED; no byte of audio was sent.
        ctx.log.error(`not sent (${audio.length} file(s)): ${end.failure.code}`);
        ctx.notifications.showFailure(end.failure);
        return [];
      }
      if (batch) summarise(ctx, end.records, token.isCancellationRequested);
      return openedDocuments(end.records);
    } finally {
      cancelled.dispose();
    }
  });
}

/** One message for the whole batch: how many were transcribed, and which failed and why. */
function summarise(ctx: Ctx, records: Parameters<typeof batchSummary>[0], cancelled: boolean): void {
  const { message, complete } = batchSummary(records, cancelled);
  ctx.log.info(message);
  if (complete) void vscode.window.showInformationMessage(message);
  else void vscode.window.showWarningMessage(message, 'Show Log').then((pick) => pick && ctx.log.show());
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
