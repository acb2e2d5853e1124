/**
 * Transcribing audio files (explorer selection or folder, active editor, open dialog): check each file, get an attested
 * session from the trust controller (nothing is sent unless the server proves itself), upload up to
 * `blindbox.concurrency` files at once (each on its own attested connection) under one cancellable progress
 * notification, open each transcript headed by the enclave it went to. One file's failure does not stop the others;
 * a server that stops proving itself ends the batch. A batch ends with one summary.
 */
import * as vscode from 'vscode';
import { AUDIO_DIALOG_FILTERS, baseName, isAudioPath } from './audio.js';
import type { Ctx } from './ctx.js';
import { NOT_CONFIGURED } from './notifications.js';
import { InputError } from '../core/errors.js';
import { describeFailure, type Failure } from './failure.js';
import { failureLine } from './plain-text.js';
import { pickedFileSize } from './picked-files.js';
import { oneLine } from '../core/util/text.js';
import type { Services } from './services.js';
import type { DocumentFormat, ExtensionSettings } from './settings.js';
import type { TranscriptDocument } from './transcript-document.js';
import type { AttestedSession } from '../core/transport/session.js';
import type { CheckedAudio } from '../core/audio-source.js';
import type { PolicyInfo } from './trust/trust-state.js';
import { runBounded } from '../core/util/run-bounded.js';
import { checkBesideAudio, exists, writeAtomically, saveTranscriptWithReceipt } from './receipt-commands.js';
import { documentFileName } from './receipt-names.js';
import { CANCELLED, TRANSCRIBING, uploadLine } from './upload-progress.js';
import { retryLine } from '../core/util/retry-notice.js';

const SAVE_WITH_RECEIPT = 'Save with Receipt';

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
  const batch = audio.length > 1;
  const title = batch ? `BlindBox: ${audio.length} files` : `BlindBox: ${baseName(audio[0]!.path)}`;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort());
    const shown = new BatchProgress(audio.length, progress);
    try {
      // Every file is checked (size, and format from its first bytes) before anything is attested or sent: one that is
      // not audio costs no attestation, and reports its own failure. No more files are checked at once than are sent
      // at once, and a remote file's bytes are dropped after its check (read again on its turn) unless it is among the
      // first sent: a batch holds only what is, or is about to be, in flight.
      shown.say('reading the files…');
      const job0 = { ctx, batch };
      const checks = await runBounded(audio, settings.concurrency, (file, i) => checkOne(job0, services, file, i < settings.concurrency));
      // A file that failed its check is done as far as the progress bar goes.
      checks.forEach((r, i) => r.kind === 'failed' && shown.file(baseName(audio[i]!.path)).finish());
      const passed = audio.flatMap((file, i) => (checks[i]!.kind === 'checked' ? [{ file, checked: (checks[i] as Checked).audio }] : []));
      if (passed.length === 0 || token.isCancellationRequested) {
        if (batch) summarise(ctx, audio, checks.map((r) => (r.kind === 'checked' ? { kind: 'not started' as const } : r)), token.isCancellationRequested);
        return [];
      }
      shown.say('attesting the server…');
      const got = await ctx.trust.acquire({ ...settings, serverUrl: server }, abort.signal);
      if (!got.ok) {
        if (got.failure.code === 'CANCELLED' || token.isCancellationRequested) {
          ctx.log.info('cancelled before anything was sent');
          return [];
        }
        // The status bar already says FAILED; no byte of audio was sent.
        ctx.log.error(`not sent (${audio.length} file(s)): ${got.failure.code}`);
        ctx.notifications.showFailure(got.failure);
        return [];
      }
      ctx.log.info(`transcribing ${audio.length} file(s), up to ${settings.concurrency} at a time, over attested connections to ${server} (${got.reused ? 'reused' : 'new'} session)`);
      const job: Job = { ctx, services, settings, server, session: got.session, policy: got.policy, signal: abort.signal, batch };
      const sent = await runBounded(passed, settings.concurrency, async ({ file, checked }): Promise<OneOutcome> => {
        if (abort.signal.aborted) return { kind: 'not started' };
        const outcome = await transcribeOne(job, file, checked, shown.file(baseName(file.path)));
        // A server that stopped proving itself: nothing more is sent to it.
        if (outcome.kind === 'failed' && outcome.failure.untrusted) abort.abort();
        return outcome;
      });
      let next = 0;
      const outcomes = checks.map((r) => (r.kind === 'checked' ? sent[next++]! : r));
      if (batch) summarise(ctx, audio, outcomes, token.isCancellationRequested);
      return outcomes.flatMap((o) => (o.kind === 'opened' ? [o.uri] : []));
    } finally {
      cancelled.dispose();
    }
  });
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

/** One progress notification for the whole batch: "3 of 8 · name · 41 %", the bar the sum of every file's share. */
class BatchProgress {
  #done = 0;
  #shown = 0;
  readonly #fractions = new Map<string, number>();

  constructor(
    private readonly total: number,
    private readonly progress: vscode.Progress<{ message?: string; increment?: number }>,
  ) {}

  say(message: string): void {
    this.progress.report({ message });
  }

  /** The reporter of one file; `finish` counts it done (whatever the outcome). */
  file(name: string): FileProgress {
    const key = `${name}#${this.#fractions.size}`;
    this.#fractions.set(key, 0);
    return {
      update: (fraction: number, what: string) => this.#update(key, name, fraction, what),
      finish: () => {
        this.#done++;
        this.#update(key, name, 1, 'done');
      },
    };
  }

  #update(key: string, name: string, fraction: number, what: string): void {
    this.#fractions.set(key, Math.max(this.#fractions.get(key) ?? 0, fraction));
    const overall = Math.floor(([...this.#fractions.values()].reduce((a, b) => a + b, 0) / this.total) * 100);
    const increment = Math.max(0, overall - this.#shown);
    this.#shown += increment;
    const position = this.total > 1 ? `${Math.min(this.#done + 1, this.total)} of ${this.total} · ` : '';
    this.progress.report({ increment, message: `${position}${name} · ${what}` });
  }
}

interface FileProgress {
  update(fraction: number, what: string): void;
  finish(): void;
}

/** What every file of one batch shares. */
interface Job {
  readonly ctx: Ctx;
  readonly services: Services;
  readonly settings: ExtensionSettings;
  readonly server: string;
  readonly session: AttestedSession;
  readonly policy: PolicyInfo;
  readonly signal: AbortSignal;
  /** More than one file: failures go to the summary, not one notification each. */
  readonly batch: boolean;
}

type OneOutcome = { readonly kind: 'opened'; readonly uri: vscode.Uri } | { readonly kind: 'cancelled' } | { readonly kind: 'not started' } | { readonly kind: 'failed'; readonly failure: Failure };

type Checked = { readonly kind: 'checked'; readonly audio: CheckedAudio };

/** Checks one file of the batch; a failure is reported (notified at once for a single file) and ends that file. */
async function checkOne(job: Pick<Job, 'ctx' | 'batch'>, services: Services, file: vscode.Uri, sentFirst: boolean): Promise<Checked | Extract<OneOutcome, { kind: 'failed' }>> {
  try {
    return { kind: 'checked', audio: await checkAudio(services, file, sentFirst) };
  } catch (err) {
    return failed(job, oneLine(baseName(file.path), 200), describeFailure(err));
  }
}

function failed(job: Pick<Job, 'ctx' | 'batch'>, name: string, failure: Failure): Extract<OneOutcome, { kind: 'failed' }> {
  job.ctx.log.error(`${name}: ${failureLine(failure)}`);
  if (!job.batch || failure.untrusted) job.ctx.notifications.showFailure(failure);
  return { kind: 'failed', failure };
}

async function transcribeOne(job: Job, file: vscode.Uri, audio: CheckedAudio, shown: FileProgress): Promise<OneOutcome> {
  const { ctx, services, settings, server, session, signal } = job;
  const name = oneLine(baseName(file.path), 200);
  try {
    // Checked (a remote file read) again now, as it may have changed since, unless its bytes were kept from its check
    // (those are sent). They are in memory from here until this file is done.
    const source = await audio.open();
    shown.update(0, 'uploading…');
    ctx.log.info(`${name}: uploading ${source.blob.size} bytes over an attested connection`);
    // Restarted by each attempt: a retry after a busy answer sends the file again from its first byte.
    let started = Date.now();
    const result = await session.transcribe(source, {
      format: services.wireFormat(settings.transcriptFormat),
      language: settings.transcriptLanguage,
      signal,
      timeoutMs: Math.max(settings.requestTimeoutMs, 10 * 60_000),
      onProgress: (sent, total) => {
        const fraction = total > 0 ? Math.min(1, sent / total) : 1;
        // The upload is most of the wait; the rest is decoding.
        shown.update(fraction * 0.9, fraction >= 1 ? TRANSCRIBING : uploadLine(sent, total, Date.now() - started));
      },
      onRetry: (notice) => {
        const line = retryLine(notice);
        ctx.log.warn(`${name}: HTTP ${notice.status}, ${line}`);
        shown.update(0, line);
        started = Date.now() + notice.waitMs;
      },
    });
    if (signal.aborted) return { kind: 'cancelled' };
    // Headed by the enclave the audio went to (the one whose key the connection that carried it presented), as the CLI's.
    const provenance = services.transcriptProvenance(result, name, server, job.policy.name);
    const document = services.renderTranscriptDocument(settings.transcriptFormat, result, provenance, await vscode.languages.getLanguages());
    const opened = (settings.saveNextToAudio ? await saveBesideAudio(ctx, file, settings.transcriptFormat, document) : undefined) ?? (await openTranscriptDocument(ctx.claimedNames, file, settings.transcriptFormat, document));
    await vscode.window.showTextDocument(opened, { preview: false });
    ctx.log.info(`${name}: transcript opened (${settings.transcriptFormat}, ${result.text.length} characters; receipt verified, audio SHA-256 ${result.receipt.verified.content.audioSha256})`);
    const kept = { audio: file, body: result.body, wire: result.format, documentFormat: settings.transcriptFormat, receipt: result.receipt };
    ctx.transcripts.remember(opened.uri, kept);
    // One file: offer to keep the proof; a batch has the editor title's button on each transcript instead.
    if (!job.batch) {
      void vscode.window.showInformationMessage(`BlindBox: ${name} transcribed; the enclave signed a receipt for it.`, SAVE_WITH_RECEIPT).then((pick) => {
        if (pick === SAVE_WITH_RECEIPT) void saveTranscriptWithReceipt(ctx, kept).catch((err: unknown) => ctx.notifications.showFailure(describeFailure(err)));
      });
    }
    return { kind: 'opened', uri: opened.uri };
  } catch (err) {
    const failure = describeFailure(err);
    if (failure.code === 'CANCELLED' || signal.aborted) {
      ctx.log.info(`${name}: ${CANCELLED}`);
      if (!job.batch) void vscode.window.showInformationMessage(`BlindBox: ${name} ${CANCELLED}.`);
      return { kind: 'cancelled' };
    }
    if (failure.untrusted) await ctx.trust.untrusted(server, failure);
    return failed(job, name, failure);
  } finally {
    shown.finish();
  }
}

/** One message for the whole batch: how many were transcribed, and which failed and why. */
function summarise(ctx: Ctx, files: readonly vscode.Uri[], outcomes: readonly OneOutcome[], cancelled: boolean): void {
  const opened = outcomes.filter((o) => o.kind === 'opened').length;
  const failures = outcomes.flatMap((o, i) => (o.kind === 'failed' ? [`${baseName(files[i]!.path)} (${o.failure.code})`] : []));
  const notDone = outcomes.length - opened - failures.length;
  const parts = [`transcribed ${opened} of ${files.length} files`];
  if (failures.length) parts.push(`${failures.length} failed: ${failures.slice(0, 3).join(', ')}${failures.length > 3 ? ', …' : ''}`);
  if (notDone) parts.push(`${notDone} ${cancelled ? 'cancelled' : 'not sent'}`);
  const message = `BlindBox: ${parts.join('; ')}.`;
  ctx.log.info(message);
  if (failures.length || notDone) void vscode.window.showWarningMessage(message, 'Show Log').then((pick) => pick && ctx.log.show());
  else void vscode.window.showInformationMessage(message);
}

/**
 * `blindbox.transcript.saveNextToAudio`: the document written to `speech.transcript.<ext>` beside the audio and opened.
 * An existing file is replaced only if the user says so; otherwise undefined (the transcript opens untitled instead).
 */
async function saveBesideAudio(ctx: Ctx, audio: vscode.Uri, format: DocumentFormat, document: TranscriptDocument): Promise<vscode.TextDocument | undefined> {
  const name = documentFileName(baseName(audio.path), format);
  const target = vscode.Uri.joinPath(audio, '..', name);
  const services = await ctx.services();
  try {
    await checkBesideAudio(services, audio, [target]);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    ctx.log.warn(`${name} not written: ${err.message}; the transcript opens as an untitled document`);
    return undefined;
  }
  if (await exists(target)) {
    const pick = await vscode.window.showWarningMessage(`BlindBox: ${oneLine(name, 200)} exists beside the audio. Replace it with the new transcript?`, { modal: true }, 'Replace');
    if (pick !== 'Replace') {
      ctx.log.info(`${name} kept; the transcript opens as an untitled document`);
      return undefined;
    }
  }
  await writeAtomically(services, target, document.content);
  ctx.log.info(`saved ${name} beside ${baseName(audio.path)}`);
  const opened = await vscode.workspace.openTextDocument(target);
  return opened.languageId === document.language ? opened : vscode.languages.setTextDocumentLanguage(opened, document.language);
}

/** Untitled names tried beside the audio before falling back to a plain untitled document. */
const MAX_NAME_TRIES = 20;

/**
 * A new untitled document holding `document`, named beside the audio (`speech.transcript.srt`): the tab shows that
 * name and Save proposes it. A name taken by an open document or a file on disk is skipped (`-2`, `-3`, …), so
 * saving never lands on an existing file unasked.
 */
async function openTranscriptDocument(claimedNames: Set<string>, audio: vscode.Uri, format: DocumentFormat, document: TranscriptDocument): Promise<vscode.TextDocument> {
  const folder = vscode.Uri.joinPath(audio, '..');
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const target = vscode.Uri.joinPath(folder, documentFileName(baseName(audio.path), format, n));
    const uri = vscode.Uri.from({ scheme: 'untitled', path: target.path });
    const key = uri.toString();
    // Claimed before the first await: two files of one batch with the same name must not open (and fill) one document.
    if (claimedNames.has(key) || vscode.workspace.textDocuments.some((d) => d.uri.toString() === key)) continue;
    claimedNames.add(key);
    try {
      if (await exists(target)) continue;
      const opened = await vscode.workspace.openTextDocument(uri);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(uri, new vscode.Position(0, 0), document.content);
      await vscode.workspace.applyEdit(edit);
      return opened.languageId === document.language ? opened : await vscode.languages.setTextDocumentLanguage(opened, document.language);
    } finally {
      claimedNames.delete(key);
    }
  }
  return vscode.workspace.openTextDocument({ content: document.content, language: document.language });
}

/**
 * Checks one file before the batch is attested; `CheckedAudio.open` checks it again on its turn. `file:` files are
 * streamed from disk when sent; any other scheme (remote and virtual workspaces) is read through `vscode.workspace.fs`,
 * which reads only whole files: read to be checked, and read again on its turn, unless it is `sentFirst` (one of the
 * first `blindbox.concurrency` files, whose bytes are held from the check until they are sent: a single file is read
 * once).
 */
function checkAudio(services: Services, file: vscode.Uri, sentFirst: boolean): Promise<CheckedAudio> {
  if (file.scheme === 'file') return services.checkedFile(file.fsPath);
  const through = async <T>(read: () => Thenable<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      throw new InputError('INVALID_AUDIO_FILE', `cannot read ${file.toString(true)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  return services.checkedWhole(baseName(file.path), {
    size: () => pickedFileSize(file, 'audio file', { notRegular: 'INVALID_AUDIO_FILE', unreadable: 'INVALID_AUDIO_FILE' }),
    read: () => through(() => vscode.workspace.fs.readFile(file)),
  }, { keep: sentFirst });
}
