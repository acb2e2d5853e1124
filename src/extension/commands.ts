/**
 * The command table and the flows behind it: transcribing files (explorer,
 * active editor, open dialog), verifying, showing the attestation, exporting
 * evidence. Every command always exists, so the user never sees "command not
 * found"; each one reports its own failures.
 */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { AUDIO_DIALOG_FILTERS, baseName, isAudioPath } from './audio.js';
import type { Ctx, VerifySummary } from './ctx.js';
import { InputError } from '../core/errors.js';
import { describeFailure } from './failure.js';
import { failureLine } from './plain-text.js';
import { COMMANDS } from './ids.js';
import type { AudioSource } from '../core/transport/transcribe.js';

type Lazy = typeof import('./lazy.js');

/** Registers every command; the disposables go to the context's lifetime list. */
export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  const table: Record<string, (...args: unknown[]) => unknown> = {
    [COMMANDS.transcribe]: (uri?: unknown, uris?: unknown) => transcribeCommand(ctx, uri, uris),
    [COMMANDS.transcribeFromExplorer]: (uri?: unknown, uris?: unknown) => transcribeCommand(ctx, uri, uris),
    [COMMANDS.verify]: (): Promise<VerifySummary> => ctx.verify('command'),
    [COMMANDS.showAttestation]: () => ctx.showAttestation(),
    [COMMANDS.exportEvidence]: (target?: unknown) => exportEvidence(ctx, target !== undefined),
    [COMMANDS.showLog]: () => ctx.log.show(),
  };
  return Object.entries(table).map(([id, run]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(...args);
      } catch (err) {
        // Flows report their own failures; this is the net for bugs.
        ctx.log.error(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        ctx.showFailure(describeFailure(err, 'transcription'));
        return undefined;
      }
    }),
  );
}

/**
 * `blindbox.transcribe` / `blindbox.transcribeFromExplorer`. Explorer menus pass
 * the clicked file and the whole selection; from the palette, the active
 * editor's file is used when it is audio, else an open dialog asks.
 * Returns the URIs of the opened transcript documents.
 */
async function transcribeCommand(ctx: Ctx, uri: unknown, uris: unknown): Promise<vscode.Uri[]> {
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
  const audio = targets.filter((u) => isAudioPath(u.path));
  const skipped = targets.length - audio.length;
  if (skipped > 0) {
    ctx.log.warn(`skipped ${skipped} selected item(s) that are not audio files`);
    void vscode.window.showWarningMessage(`BlindBox: skipped ${skipped} selected item(s) that are not audio files (.wav .mp3 .flac .ogg .oga .m4a .webm).`);
  }
  const opened: vscode.Uri[] = [];
  for (const file of audio) {
    const outcome = await transcribeOne(ctx, file);
    if (outcome.kind === 'opened') opened.push(outcome.uri);
    // Cancelling one file, or a server that fails to prove itself, ends the whole batch.
    else if (outcome.kind === 'cancelled' || outcome.stopBatch) break;
  }
  return opened;
}

/** The file shown in the active editor or tab (audio opens in a binary or custom editor, not a text editor). */
function activeResource(): vscode.Uri | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor) return editor.document.uri;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  return undefined;
}

type OneOutcome = { readonly kind: 'opened'; readonly uri: vscode.Uri } | { readonly kind: 'cancelled' } | { readonly kind: 'failed'; readonly stopBatch: boolean };

async function transcribeOne(ctx: Ctx, file: vscode.Uri): Promise<OneOutcome> {
  const name = baseName(file.path);
  let lazy: Lazy;
  let settings;
  try {
    lazy = await ctx.lazy();
    settings = await ctx.settings();
  } catch (err) {
    const failure = describeFailure(err, 'settings');
    ctx.log.error(`${failureLine(failure)}`);
    ctx.showFailure(failure);
    return { kind: 'failed', stopBatch: true };
  }
  const server = settings.serverUrl;
  if (!server) {
    ctx.showFailure({ code: 'NOT_CONFIGURED', message: 'Set blindbox.serverUrl in your user settings first.', untrusted: false });
    return { kind: 'failed', stopBatch: true };
  }

  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BlindBox: ${name}`, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort());
    const stopped = (): OneOutcome => {
      ctx.log.info(`${name}: cancelled; nothing was opened`);
      return { kind: 'cancelled' };
    };
    try {
      progress.report({ message: 'reading the file…' });
      let source: AudioSource;
      try {
        source = await readAudio(lazy, file);
      } catch (err) {
        const failure = describeFailure(err, 'audio');
        ctx.log.error(`${name}: ${failureLine(failure)}`);
        ctx.showFailure(failure);
        return { kind: 'failed', stopBatch: false };
      }
      if (token.isCancellationRequested) return stopped();

      progress.report({ message: 'attesting the server…' });
      const got = await ctx.acquireSession(settings, abort.signal);
      if (!got.ok) {
        if (got.failure.code === 'CANCELLED' || token.isCancellationRequested) return stopped();
        // The status bar already says FAILED; no byte of audio was sent.
        ctx.log.error(`${name}: not sent: ${got.failure.code}`);
        ctx.showFailure(got.failure);
        return { kind: 'failed', stopBatch: true };
      }

      const session = got.session;
      ctx.log.info(`${name}: uploading ${source.blob.size} bytes to ${server} over the attested channel (${got.reused ? 'reused' : 'new'} session)`);
      let reported = 0;
      const result = await session.transcribe(source, {
        format: lazy.wireFormat(settings.transcriptFormat),
        signal: abort.signal,
        timeoutMs: Math.max(settings.requestTimeoutMs, 10 * 60_000),
        onProgress: (sent, total) => {
          const pct = total > 0 ? Math.min(100, Math.floor((sent / total) * 100)) : 100;
          if (pct <= reported) return;
          progress.report({ increment: pct - reported, message: pct >= 100 ? 'transcribing…' : `uploading… ${pct}%` });
          reported = pct;
        },
      });
      if (token.isCancellationRequested) return stopped();
      ctx.sessionUsed(session, server);
      const attested = session.attested;
      const document = lazy.renderTranscriptDocument(
        settings.transcriptFormat,
        result,
        {
          sourceName: name,
          server,
          moduleId: attested.attestation.moduleId,
          pcr0: attested.attestation.pcrs[0],
          verifiedAt: attested.attestedAt,
          policyName: got.policy.name,
          simulation: attested.simulation,
        },
        await vscode.languages.getLanguages(),
      );
      const opened = await vscode.workspace.openTextDocument({ content: document.content, language: document.language });
      await vscode.window.showTextDocument(opened, { preview: false });
      ctx.log.info(`${name}: transcript opened (${settings.transcriptFormat}, ${result.text.length} characters)`);
      return { kind: 'opened', uri: opened.uri };
    } catch (err) {
      const failure = describeFailure(err, 'transcription');
      if (failure.code === 'CANCELLED' || token.isCancellationRequested) return stopped();
      ctx.log.error(`${name}: ${failureLine(failure)}`);
      if (failure.untrusted) await ctx.untrustedDuringUpload(server, failure);
      ctx.showFailure(failure);
      return { kind: 'failed', stopBatch: failure.untrusted };
    } finally {
      cancelled.dispose();
    }
  });
}

/** `file:` files are streamed from disk; any other scheme (remote workspaces) is read through `vscode.workspace.fs`. */
async function readAudio(lazy: Lazy, file: vscode.Uri): Promise<AudioSource> {
  if (file.scheme === 'file') return lazy.fileSource(file.fsPath);
  let bytes: Uint8Array;
  try {
    bytes = await vscode.workspace.fs.readFile(file);
  } catch (err) {
    throw new InputError('INVALID_AUDIO_FILE', `cannot read ${file.toString(true)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return lazy.bytesSource(baseName(file.path), bytes);
}

/**
 * `blindbox.exportEvidence`: JSON evidence of the current attestation (verifying first when there is none), written
 * only where the user chose in the save dialog. Any extension, or a `command:` link, can run this command with
 * arguments, so a target passed that way is ignored: otherwise it could overwrite any file the editor may write.
 */
async function exportEvidence(ctx: Ctx, targetPassed: boolean): Promise<vscode.Uri | undefined> {
  if (targetPassed) ctx.log.warn('exportEvidence: ignored the target passed with the command; the evidence is written only where you choose in the save dialog');
  if (ctx.result.kind !== 'verified' && ctx.result.kind !== 'failed') await ctx.verify('command');
  const result = ctx.result;
  if (result.kind !== 'verified' && result.kind !== 'failed') {
    void vscode.window.showWarningMessage('BlindBox: there is no attestation to export yet; set blindbox.serverUrl and verify first.');
    return undefined;
  }
  const lazy = await ctx.lazy();
  const now = new Date();
  const evidence = lazy.buildEvidence(result, ctx.policy, now);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(homedir());
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(folder, lazy.evidenceFileName(evidence.server, now)),
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
