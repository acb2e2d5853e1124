/**
 * The vscode face of a transcription batch's steps (batch.ts runs them): check one file (a remote one read
 * through the workspace file system), send it over the attested session with its progress, and make its document:
 * a batch's written with its receipt where the batch writes (batch-output.ts); a single file's saved beside the audio
 * when the settings say so, else an untitled document named beside it, remembered for *Save Transcript with Receipt*.
 */
import * as vscode from 'vscode';
import { InputError } from '../../core/errors.js';
import type { CheckedAudio } from '../../core/audio-source.js';
import type { AttestedSession } from '../../core/transport/session.js';
import type { TranscriptResult } from '../../core/transport/transcribe.js';
import { oneLine } from '../../shared/text.js';
import { retryLine } from '../../core/util/retry-notice.js';
import { baseName } from '../common/audio.js';
import { checkBesideAudio, exists, writeAtomically } from '../files/beside-audio.js';
import type { Ctx } from '../ctx.js';
import { describeFailure, type Failure } from '../common/failure.js';
import { failureLine } from '../common/plain-text.js';
import { pickedFileSize } from '../files/picked.js';
import { saveTranscriptWithReceipt } from '../receipts/save.js';
import { documentFileName } from '../files/names.js';
import type { TranscribeServices } from '../services.js';
import type { DocumentFormat, ExtensionSettings } from '../settings/model.js';
import { serverGone, type BatchSteps, type FileRecord } from './batch.js';
import type { BatchOutput } from './batch-output.js';
import type { TranscriptDocument } from './document.js';
import type { PolicyInfo } from '../trust/trust-state.js';
import { CANCELLED, streamedFraction, streamedLine, transcribingFraction, transcribingLine, uploadFraction, uploadLine } from './progress.js';
import type { StreamedSegment, TranscribeStreamOptions } from '../../core/transport/transcribe-stream.js';
import { StreamedTranscriptView } from './streamed-view.js';

const SAVE_WITH_RECEIPT = 'Save with Receipt';

/** The attested session a batch's files go over, and the policy it was checked against. */
export interface BatchSession {
  readonly session: AttestedSession;
  readonly policy: PolicyInfo;
}

/** What every file of one batch shares. */
export interface Job {
  readonly ctx: Pick<Ctx, 'log' | 'notifications' | 'trust' | 'transcripts' | 'claimedNames' | 'services' | 'clock' | 'speeds'>;
  readonly services: TranscribeServices;
  readonly settings: ExtensionSettings & { readonly serverUrl: string };
  readonly signal: AbortSignal;
  /** More than one file: failures go to the summary, not one notification each. */
  readonly batch: boolean;
  /** Where a batch writes its transcripts and receipts (a single file opens as a document instead). */
  readonly output?: BatchOutput;
}

type Record = FileRecord<vscode.Uri, CheckedAudio, vscode.Uri>;

/** The steps of one batch, for `runBatch` (attestation is the command's: it knows the user's Cancel). */
export function transcriptionSteps(job: Job): Omit<BatchSteps<vscode.Uri, CheckedAudio, BatchSession, TranscriptResult, vscode.Uri>, 'attest'> {
  const { ctx, settings } = job;
  /** The streamed documents of files being sent, until they are verified or marked not verified. */
  const views = new Map<Record, StreamedTranscriptView>();
  const take = (record: Record) => {
    const view = views.get(record);
    views.delete(record);
    return view;
  };
  return {
    check: (file, keepBytes) => checkAudio(job.services, file, keepBytes),
    send: (record, audio, { session }, progress) => send(job, record, audio, session, progress, views),
    document: (record, answer, { policy }) => openDocument(job, record, answer, policy, take(record)),
    failed: async (record, failure, sending) => {
      // The status says so (FAILED · unreachable) until an attestation succeeds again, not "verified 0s ago".
      if (sending && (failure.untrusted || serverGone(failure))) await ctx.trust.uploadFailed(settings.serverUrl, failure);
      // A streamed document the user has read stays open, saying at its top that no receipt covers it.
      const shown = await take(record)?.unverified({ kind: 'refused', code: failure.code, message: failure.message });
      if (shown) ctx.transcripts.refuse(shown, failure.code);
      reportFailure(job, oneLine(record.name, 200), failure);
    },
    cancelled: (record) => {
      const name = oneLine(record.name, 200);
      const view = take(record);
      void (async () => {
        const shown = await view?.unverified({ kind: 'cancelled' });
        if (shown) ctx.transcripts.refuse(shown, 'CANCELLED');
        const what = shown ? STREAM_CANCELLED : CANCELLED;
        ctx.log.info(`${name}: ${what}`);
        if (!job.batch) void vscode.window.showInformationMessage(`BlindBox: ${name} ${what}.`);
      })();
    },
  };
}

/** What a cancelled streamed file leaves behind: its document, marked. */
const STREAM_CANCELLED = 'cancelled, not verified: the text shown so far stays, marked so';

/**
 * `blindbox.transcript.stream`: one file opened as an untitled document is streamed; a batch (it writes whole
 * verified files) and a file written beside its audio are not.
 */
function streams(job: Job): boolean {
  return job.settings.transcriptStream && !job.batch && !job.output && !job.settings.saveNextToAudio;
}

/** A file's failure: logged, and notified at once for a single file or an untrusted server (a batch sums up the rest). */
function reportFailure(job: Job, name: string, failure: Failure): void {
  job.ctx.log.error(`${name}: ${failureLine(failure)}`);
  if (!job.batch || failure.untrusted) job.ctx.notifications.showFailure(failure);
}

async function send(job: Job, record: Record, audio: CheckedAudio, session: AttestedSession, shown: { update(fraction: number, what: string): void }, views: Map<Record, StreamedTranscriptView>): Promise<TranscriptResult> {
  const { ctx, settings } = job;
  const name = oneLine(record.name, 200);
  const format = settings.transcriptFormat;
  const view = streams(job) ? new StreamedTranscriptView(format, job.services, (content) => openStreamed(job, record.file, content), (line) => ctx.log.warn(`${name}: ${line}`)) : undefined;
  if (view) views.set(record, view);
  // Checked (a remote file read) again now, as it may have changed since, unless its bytes were kept from its check
  // (those are sent). They are in memory from here until this file is done.
  const source = await audio.open();
  const seconds = await job.services.blobDurationSeconds(source.blob);
  const estimate = ctx.speeds.estimateMs(settings.serverUrl, seconds);
  shown.update(0, 'uploading…');
  ctx.log.info(`${name}: uploading ${source.blob.size} bytes over an attested connection (${seconds === undefined ? 'length not stated' : `${seconds.toFixed(1)} s of audio`}; ${estimate === undefined ? 'no estimate yet' : `estimated ${Math.round(estimate / 1000)} s after the upload`})`);
  const fileStarted = Date.now();
  // Restarted by each attempt: a retry after a busy answer sends the file again from its first byte.
  let started = fileStarted;
  /** When the upload ended (the enclave has the audio), and the clock ticks showing the time elapsed meanwhile. */
  let uploaded: number | undefined;
  let ticking: (() => void) | undefined;
  const transcribing = (now: number) => shown.update(transcribingFraction(now - uploaded!, estimate), transcribingLine(now - fileStarted, now - uploaded!, estimate, seconds));
  /** Once segments come, they tell the progress; the clock's ticks stop. */
  const onSegment = (segment: StreamedSegment) => {
    ticking?.();
    ticking = undefined;
    shown.update(streamedFraction(segment.end, seconds), streamedLine(segment.end, seconds));
    view!.segment(segment);
  };
  try {
    const options: TranscribeStreamOptions = {
      language: settings.transcriptLanguage,
      signal: job.signal,
      timeoutMs: Math.max(settings.requestTimeoutMs, 10 * 60_000),
      onProgress: (sent, total) => {
        if (sent < total) return shown.update(uploadFraction(sent, total), uploadLine(sent, total, Date.now() - started));
        if (uploaded === undefined) {
          uploaded = Date.now();
          ticking = ctx.clock.subscribe(transcribing);
        }
        transcribing(Date.now());
      },
      onRetry: (notice) => {
        const line = retryLine(notice);
        ctx.log.warn(`${name}: HTTP ${notice.status}, ${line}`);
        ticking?.();
        ticking = uploaded = undefined;
        shown.update(0, line);
        started = Date.now() + notice.waitMs;
      },
    };
    const whole = () => session.transcribe(source, { ...options, format: job.services.wireFormat(format) });
    const result = view ? await session.transcribeStream(source, { ...options, onSegment }).catch((err: unknown) => {
      // The core refuses to stream what must be sealed (TLS inspected): sent whole instead, before any byte left.
      // Only that refusal: any other INVALID_OPTION (a temperature out of range) is the user's to see.
      if (!job.services.isSealedStreamRefusal(err)) throw err;
      ctx.log.info(`${name}: not streamed (${(err as Error).message}); the transcript opens once it is whole and verified`);
      views.delete(record);
      return whole();
    }) : await whole();
    if (seconds !== undefined && uploaded !== undefined) {
      const waited = Date.now() - uploaded;
      ctx.speeds.record(settings.serverUrl, seconds, waited);
      ctx.log.info(`${name}: ${seconds.toFixed(1)} s of audio answered ${(waited / 1000).toFixed(1)} s after its upload (real-time factor ${ctx.speeds.realTimeFactor(settings.serverUrl)!.toFixed(2)} on this server so far)`);
    }
    return result;
  } finally {
    ticking?.();
  }
}

/** The transcript's document, headed by the enclave the audio went to (the one whose key the connection presented). */
async function openDocument(job: Job, record: Record, result: TranscriptResult, policy: PolicyInfo, streamed: StreamedTranscriptView | undefined): Promise<vscode.Uri> {
  const { ctx, settings, services } = job;
  const file = record.file;
  const name = oneLine(record.name, 200);
  const format = settings.transcriptFormat;
  const provenance = services.transcriptProvenance(result, name, settings.serverUrl, policy.name);
  // A streamed transcript's signed body is its text: the document renders its segments as the format wants them.
  const shownResult = streamed ? services.streamedTranscript(result, format) : result;
  const document = services.renderTranscriptDocument(format, shownResult, provenance, await vscode.languages.getLanguages());
  const kept = { audio: file, body: result.body, wire: result.format, documentFormat: format, receipt: result.receipt };
  if (job.output) return job.output.write(kept, document.content);
  // The streamed document, already shown, gets its header in place; one that never opened (no speech) opens now.
  const filled = await streamed?.verified(document);
  const opened = filled ?? (settings.saveNextToAudio ? await saveBesideAudio(job, file, format, document) : undefined) ?? (await openUntitled(ctx.claimedNames, file, format, document));
  if (!filled) await vscode.window.showTextDocument(opened, { preview: false });
  ctx.log.info(`${name}: transcript opened (${format}, ${result.text.length} characters; receipt verified, audio SHA-256 ${result.receipt.verified.content.audioSha256})`);
  ctx.transcripts.remember(opened.uri, kept);
  // One file: offer to keep the proof (a batch has saved it with the transcript).
  void vscode.window.showInformationMessage(`BlindBox: ${name} transcribed; the enclave signed a receipt for it.`, SAVE_WITH_RECEIPT).then((pick) => {
    if (pick === SAVE_WITH_RECEIPT) void saveTranscriptWithReceipt(ctx, kept).catch((err: unknown) => ctx.notifications.showFailure(describeFailure(err)));
  });
  return opened.uri;
}

/**
 * `blindbox.transcript.saveNextToAudio`: the document written to `speech.transcript.<ext>` beside the audio and opened.
 * An existing file is replaced only if the user says so; otherwise undefined (the transcript opens untitled instead).
 */
async function saveBesideAudio(job: Job, audio: vscode.Uri, format: DocumentFormat, document: TranscriptDocument): Promise<vscode.TextDocument | undefined> {
  const { ctx, services } = job;
  const name = documentFileName(baseName(audio.path), format);
  const target = vscode.Uri.joinPath(audio, '..', name);
  try {
    await checkBesideAudio(services.files, audio, [target]);
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
  await writeAtomically(services.files, target, document.content);
  ctx.log.info(`saved ${name} beside ${baseName(audio.path)}`);
  const opened = await vscode.workspace.openTextDocument(target);
  return opened.languageId === document.language ? opened : vscode.languages.setTextDocumentLanguage(opened, document.language);
}

/** A streamed transcript's document, opened at its first segment with `content`, named and shown as a finished one is. */
async function openStreamed(job: Job, audio: vscode.Uri, content: string): Promise<vscode.TextDocument> {
  const format = job.settings.transcriptFormat;
  const opened = await openUntitled(job.ctx.claimedNames, audio, format, { content, language: job.services.documentLanguage(format, await vscode.languages.getLanguages()) });
  await vscode.window.showTextDocument(opened, { preview: false });
  return opened;
}

/** Untitled names tried beside the audio before falling back to a plain untitled document. */
const MAX_NAME_TRIES = 20;

/**
 * A new untitled document holding `document`, named beside the audio (`speech.transcript.srt`): the tab shows that
 * name and Save proposes it. A name taken by an open document, one being opened (`claimedNames`) or a file on disk is
 * skipped (`-2`, `-3`, …), so saving never lands on an existing file unasked.
 */
async function openUntitled(claimedNames: Set<string>, audio: vscode.Uri, format: DocumentFormat, document: TranscriptDocument): Promise<vscode.TextDocument> {
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
 * which reads only whole files: read to be checked, and read again on its turn, unless `keepBytes` (one of the first
 * `blindbox.concurrency` files, whose bytes are held from the check until they are sent: a single file is read once).
 */
function checkAudio(services: TranscribeServices, file: vscode.Uri, keepBytes: boolean): Promise<CheckedAudio> {
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
  }, { keep: keepBytes });
}
