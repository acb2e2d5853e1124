/**
 * Transcribing audio files (explorer selection, active editor, open dialog): read the file, get an attested session
 * from the trust controller (nothing is sent unless the server proves itself), upload with cancellable progress, open
 * the transcript headed by the enclave it went to. A server that stops proving itself ends the batch.
 */
import * as vscode from 'vscode';
import { AUDIO_DIALOG_FILTERS, baseName, isAudioPath } from './audio.js';
import { NOT_CONFIGURED, type Ctx } from './ctx.js';
import { InputError } from '../core/errors.js';
import { describeFailure } from './failure.js';
import { failureLine } from './plain-text.js';
import type { Services } from './services.js';
import type { AudioSource } from '../core/audio-source.js';

/**
 * `blindbox.transcribe` / `blindbox.transcribeFromExplorer`. Explorer menus pass
 * the clicked file and the whole selection; from the palette, the active
 * editor's file is used when it is audio, else an open dialog asks.
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
  let services: Services;
  let settings;
  try {
    services = await ctx.services();
    settings = await ctx.settings();
  } catch (err) {
    const failure = describeFailure(err);
    ctx.log.error(`${failureLine(failure)}`);
    ctx.showFailure(failure);
    return { kind: 'failed', stopBatch: true };
  }
  const server = settings.serverUrl;
  if (!server) {
    ctx.showFailure(NOT_CONFIGURED);
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
        source = await readAudio(services, file);
      } catch (err) {
        const failure = describeFailure(err);
        ctx.log.error(`${name}: ${failureLine(failure)}`);
        ctx.showFailure(failure);
        return { kind: 'failed', stopBatch: false };
      }
      if (token.isCancellationRequested) return stopped();

      progress.report({ message: 'attesting the server…' });
      const got = await ctx.trust.acquire({ ...settings, serverUrl: server }, abort.signal);
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
        format: services.wireFormat(settings.transcriptFormat),
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
      // The enclave the audio went to: the session may have attested again during the upload (the trust state heard of it).
      const enclave = session.attested;
      const document = services.renderTranscriptDocument(
        settings.transcriptFormat,
        result,
        {
          sourceName: name,
          server,
          moduleId: enclave.attestation.moduleId,
          pcr0: enclave.attestation.pcrs[0],
          verifiedAt: enclave.attestation.verifiedAt,
          policyName: got.policy.name,
          simulation: enclave.simulation,
        },
        await vscode.languages.getLanguages(),
      );
      const opened = await vscode.workspace.openTextDocument({ content: document.content, language: document.language });
      await vscode.window.showTextDocument(opened, { preview: false });
      ctx.log.info(`${name}: transcript opened (${settings.transcriptFormat}, ${result.text.length} characters)`);
      return { kind: 'opened', uri: opened.uri };
    } catch (err) {
      const failure = describeFailure(err);
      if (failure.code === 'CANCELLED' || token.isCancellationRequested) return stopped();
      ctx.log.error(`${name}: ${failureLine(failure)}`);
      if (failure.untrusted) await ctx.trust.untrusted(server, failure);
      ctx.showFailure(failure);
      return { kind: 'failed', stopBatch: failure.untrusted };
    } finally {
      cancelled.dispose();
    }
  });
}

/** `file:` files are streamed from disk; any other scheme (remote workspaces) is read through `vscode.workspace.fs`. */
async function readAudio(services: Services, file: vscode.Uri): Promise<AudioSource> {
  if (file.scheme === 'file') return services.fileSource(file.fsPath);
  const name = baseName(file.path);
  let bytes: Uint8Array;
  try {
    // Its size first: a remote file is read whole into memory, so one larger than any server takes is never read.
    services.checkAudioSize(name, (await vscode.workspace.fs.stat(file)).size);
    bytes = await vscode.workspace.fs.readFile(file);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('INVALID_AUDIO_FILE', `cannot read ${file.toString(true)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return services.bytesSource(name, bytes);
}
