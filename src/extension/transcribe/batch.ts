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
 * that stops proving itself, or stops answering, ends the batch (the files it did not take are the batch's "remaining").
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

/** How a batch ended; `stopped` is the failure that showed the server gone (`serverGone`), when one ended it. */
export type BatchEnd<F, A, D, S> =
  | { readonly kind: 'checked'; readonly records: readonly FileRecord<F, A, D>[] }
  | { readonly kind: 'not attested'; readonly failure: Failure }
  | { readonly kind: 'sent'; readonly records: readonly FileRecord<F, A, D>[]; readonly session: S; readonly stopped?: Failure };

/**
 * Whether a file's failure means the server stopped answering (refused or reset connections, no answer in time), as
 * opposed to a failure of that file (its audio, the server's refusal of it): the next file would fail the same way.
 */
export function serverGone(failure: Failure): boolean {
  return failure.code === 'SERVER_UNREACHABLE' || failure.code === 'TIMEOUT';
}

/** The batch's progress bar: one reporter per file, finished whatever its outcome. */
export interface ProgressSink {
  say(message: string): void;
  /** The reporter of the `ordinal`th file of the batch (from 1), named `name`. */
  file(name: string, ordinal: number): FileProgress;
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
  checked.forEach((r, i) => r.stage.kind === 'failed' && progress.file(r.name, i + 1).finish());
  if (!checked.some((r) => r.stage.kind === 'checked') || signal.aborted) {
    return { kind: 'checked', records: checked.map((r) => (r.stage.kind === 'checked' ? { ...r, stage: { kind: 'not started' } } : r)) };
  }
  progress.say('attesting the server…');
  const attested = await steps.attest();
  if (!attested.ok) return { kind: 'not attested', failure: attested.failure };
  const session = attested.session;
  let stopped: Failure | undefined;
  const sent = await runBounded(checked, concurrency, async (record, i): Promise<FileRecord<F, A, D>> => {
    if (record.stage.kind !== 'checked') return record;
    if (signal.aborted) return { ...record, stage: { kind: 'not started' } };
    const stage = await sendOne(steps, record, record.stage.audio, session, signal, progress.file(record.name, i + 1));
    // A server that stopped proving itself, or answering: nothing more is sent to it.
    if (stage.kind === 'failed' && (stage.failure.untrusted || serverGone(stage.failure)) && !signal.aborted) {
      if (!stage.failure.untrusted) stopped = stage.failure;
      abort.abort();
    }
    return { ...record, stage };
  });
  return { kind: 'sent', records: sent, session, ...(stopped ? { stopped } : {}) };
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

/** A batch's end in words, and the files worth a second try. */
export interface BatchSummary<F> {
  readonly message: string;
  /** Every file was transcribed. */
  readonly complete: boolean;
  /** Files that failed on their own (their audio, the server's refusal of them): *Retry the N failed*. */
  readonly failed: readonly F[];
  /** Files the batch did not get to (Cancel, or a server that stopped answering): *Transcribe the remaining N*. */
  readonly remaining: readonly F[];
}

/**
 * One message for a whole batch: how many were transcribed, which failed and why, and what was left. When the server
 * stopped answering (`stopped`), that is said once, and the files it did not take (the one it dropped among them) are
 * the remaining ones, not a failure each.
 */
export function batchSummary<F>(records: readonly FileRecord<F, unknown, unknown>[], cancelled: boolean, stopped?: Failure): BatchSummary<F> {
  const opened = records.filter((r) => r.stage.kind === 'opened').length;
  const failedOnTheirOwn = (r: FileRecord<F, unknown, unknown>) => r.stage.kind === 'failed' && !(stopped && serverGone(r.stage.failure));
  const failed = records.filter(failedOnTheirOwn);
  const remaining = records.filter((r) => r.stage.kind !== 'opened' && !failedOnTheirOwn(r));
  const failures = failed.map((r) => `${r.name} (${r.stage.kind === 'failed' ? r.stage.failure.code : ''})`);
  const failedPart = failures.length ? `${failures.length} failed: ${failures.slice(0, 3).join(', ')}${failures.length > 3 ? ', …' : ''}` : undefined;
  let message: string;
  if (stopped) {
    const parts = [`the server stopped answering after ${opened} file${opened === 1 ? '' : 's'}`, `${remaining.length} ${remaining.length === 1 ? 'was' : 'were'} not sent`];
    message = `BlindBox: ${[...parts, ...(failedPart ? [failedPart] : [])].join('; ')}.`;
  } else {
    const parts = [`transcribed ${opened} of ${records.length} files`, ...(failedPart ? [failedPart] : [])];
    if (remaining.length) parts.push(`${remaining.length} ${cancelled ? 'cancelled' : 'not sent'}`);
    message = `BlindBox: ${parts.join('; ')}.`;
  }
  return { message, complete: failed.length === 0 && remaining.length === 0, failed: failed.map((r) => r.file), remaining: remaining.map((r) => r.file) };
}
