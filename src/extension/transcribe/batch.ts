/**
 * A transcription batch as a small pipeline, with no vscode import: one record per file goes through check → attest →
 * send → document, and every stage maps the whole list of records (a record past its stage, or out of it, passes
 * through unchanged), so a file's outcome is always on its own record. The steps themselves (reading a file, the
 * attested session, the editor) are given by the caller; this module decides the order, the bounds and what each
 * file's outcome is, and words the batch's summary.
 *
 * Every file is checked (size, and format from its first bytes) before anything is attested or sent: one that is not
 * audio costs no attestation and reports its own failure. No more files are checked at once than are sent at once,
 * and only the first `concurrency` files keep their bytes from the check (the others are read again on their turn):
 * a batch holds only what is, or is about to be, in flight. One file's failure does not stop the others; a server
 * that stops proving itself ends the batch.
 */
import { runBounded } from '../../core/util/run-bounded.js';
import { describeFailure, type Failure } from '../common/failure.js';
import type { FileProgress } from './progress.js';

/** Where one file is: checked files wait for their turn; the other kinds are final. */
export type FileStage<A, D> =
  | { readonly kind: 'selected' }
  | { readonly kind: 'checked'; readonly audio: A }
  | { readonly kind: 'opened'; readonly document: D }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'not started' }
  | { readonly kind: 'failed'; readonly failure: Failure };

/** One file of the batch: `name` is what messages call it. */
export interface FileRecord<F, A, D> {
  readonly file: F;
  readonly name: string;
  readonly stage: FileStage<A, D>;
}

/** The attestation step's answer (the trust controller's `acquire`). */
export type Attested<S> = { readonly ok: true; readonly session: S } | { readonly ok: false; readonly failure: Failure };

/** What the caller does at each step; anything a step throws is that file's failure (or its cancellation). */
export interface BatchSteps<F, A, S, R, D> {
  /** Checks one file; `keepBytes` when it is among the first sent (its bytes are then held until it is sent). */
  check(file: F, keepBytes: boolean): Promise<A>;
  /** An attested session for the whole batch; called only when some file passed its check and nothing was cancelled. */
  attest(): Promise<Attested<S>>;
  /** Sends one checked file over `session`. */
  send(record: FileRecord<F, A, D>, audio: A, session: S, progress: FileProgress): Promise<R>;
  /** Makes the document of one answer (not called once the batch is cancelled). */
  document(record: FileRecord<F, A, D>, answer: R, session: S): Promise<D>;
  /** Reports one file's failure (`sending`: it failed on its turn, not in its check); awaited before the next stage. */
  failed(record: FileRecord<F, A, D>, failure: Failure, sending: boolean): Promise<void> | void;
  /** Reports one file cancelled while it was being sent. */
  cancelled(record: FileRecord<F, A, D>): void;
}

/** How a batch ended. */
export type BatchEnd<F, A, D, S> =
  | { readonly kind: 'checked'; readonly records: readonly FileRecord<F, A, D>[] }
  | { readonly kind: 'not attested'; readonly failure: Failure }
  | { readonly kind: 'sent'; readonly records: readonly FileRecord<F, A, D>[]; readonly session: S };

/** The batch's progress bar: one reporter per file, finished whatever its outcome. */
export interface ProgressSink {
  say(message: string): void;
  file(name: string): FileProgress;
}

/**
 * Runs the batch. `abort` is the batch's: the user's Cancel aborts it, and so does a file whose failure means the
 * server is untrusted (nothing more is sent to it).
 */
export async function runBatch<F, A, S, R, D>(
  files: readonly { readonly file: F; readonly name: string }[],
  steps: BatchSteps<F, A, S, R, D>,
  options: { readonly concurrency: number; readonly abort: AbortController; readonly progress: ProgressSink },
): Promise<BatchEnd<F, A, D, S>> {
  const { concurrency, abort, progress } = options;
  const signal = abort.signal;
  progress.say('reading the files…');
  const checked = await runBounded(files, concurrency, async ({ file, name }, i): Promise<FileRecord<F, A, D>> => {
    try {
      return { file, name, stage: { kind: 'checked', audio: await steps.check(file, i < concurrency) } };
    } catch (err) {
      const failure = describeFailure(err);
      const record: FileRecord<F, A, D> = { file, name, stage: { kind: 'failed', failure } };
      await steps.failed(record, failure, false);
      return record;
    }
  });
  // A file that failed its check is done as far as the progress bar goes.
  for (const r of checked) if (r.stage.kind === 'failed') progress.file(r.name).finish();
  if (!checked.some((r) => r.stage.kind === 'checked') || signal.aborted) {
    return { kind: 'checked', records: checked.map((r) => (r.stage.kind === 'checked' ? { ...r, stage: { kind: 'not started' } } : r)) };
  }
  progress.say('attesting the server…');
  const attested = await steps.attest();
  if (!attested.ok) return { kind: 'not attested', failure: attested.failure };
  const session = attested.session;
  const sent = await runBounded(checked, concurrency, async (record): Promise<FileRecord<F, A, D>> => {
    if (record.stage.kind !== 'checked') return record;
    if (signal.aborted) return { ...record, stage: { kind: 'not started' } };
    const stage = await sendOne(steps, record, record.stage.audio, session, signal, progress.file(record.name));
    // A server that stopped proving itself: nothing more is sent to it.
    if (stage.kind === 'failed' && stage.failure.untrusted) abort.abort();
    return { ...record, stage };
  });
  return { kind: 'sent', records: sent, session };
}

async function sendOne<F, A, S, R, D>(steps: BatchSteps<F, A, S, R, D>, record: FileRecord<F, A, D>, audio: A, session: S, signal: AbortSignal, progress: FileProgress): Promise<FileStage<A, D>> {
  try {
    const answer = await steps.send(record, audio, session, progress);
    if (signal.aborted) return { kind: 'cancelled' };
    return { kind: 'opened', document: await steps.document(record, answer, session) };
  } catch (err) {
    const failure = describeFailure(err);
    if (failure.code === 'CANCELLED' || signal.aborted) {
      steps.cancelled(record);
      return { kind: 'cancelled' };
    }
    await steps.failed(record, failure, true);
    return { kind: 'failed', failure };
  } finally {
    progress.finish();
  }
}

/** The documents the batch opened, in the order of its files. */
export function openedDocuments<D>(records: readonly FileRecord<unknown, unknown, D>[]): D[] {
  return records.flatMap((r) => (r.stage.kind === 'opened' ? [r.stage.document] : []));
}

/** One message for a whole batch: how many were transcribed, which failed and why; `complete` when all were. */
export function batchSummary(records: readonly FileRecord<unknown, unknown, unknown>[], cancelled: boolean): { readonly message: string; readonly complete: boolean } {
  const opened = records.filter((r) => r.stage.kind === 'opened').length;
  const failures = records.flatMap((r) => (r.stage.kind === 'failed' ? [`${r.name} (${r.stage.failure.code})`] : []));
  const notDone = records.length - opened - failures.length;
  const parts = [`transcribed ${opened} of ${records.length} files`];
  if (failures.length) parts.push(`${failures.length} failed: ${failures.slice(0, 3).join(', ')}${failures.length > 3 ? ', …' : ''}`);
  if (notDone) parts.push(`${notDone} ${cancelled ? 'cancelled' : 'not sent'}`);
  return { message: `BlindBox: ${parts.join('; ')}.`, complete: failures.length === 0 && notDone === 0 };
}
