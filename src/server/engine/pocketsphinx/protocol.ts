/** What the PocketSphinx engine and its workers exchange (through `WorkerPool`). */
import type { Codec } from '../../../protocol/audio-format.js';
import type { Word } from '../segments.js';
import type { Utterance } from '../split/utterances.js';

/** Set once per worker, as its `workerData`. */
export interface WorkerSetup {
  readonly modelDir: string;
  /** Utterance length bounds for long recordings (seconds). */
  readonly utterance: { readonly minSeconds: number; readonly maxSeconds: number };
  /** Seconds of audio a worker goes through between two releases of its freed memory (`MemoryReleaser`). */
  readonly releaseSeconds: number;
}

/**
 * Decode an uploaded file and recognise it; with `split`, once it is known to be long enough, hand out its pieces for
 * other workers as they are cut (`WorkerMessage` `piece`), while a piece may wait for one (`handOut` credits, one given
 * back each time a handed-out piece starts), and recognise the others itself.
 */
export interface FileJob {
  readonly kind: 'file';
  readonly path: string;
  readonly codec: Codec;
  /** Refuse audio longer than this (seconds). */
  readonly maxSeconds: number;
  /** Audio at least `minSeconds` long comes back as pieces of about `pieceSeconds` for other workers to share. */
  readonly split?: { readonly minSeconds: number; readonly pieceSeconds: number; readonly handOut: number };
  /**
   * Post the words of each utterance this job recognises itself as a `progress` message (`Word[]`) as soon as they are
   * known, in the order of the audio; the pieces it hands out post theirs as they recognise them.
   */
  readonly progress?: boolean;
}

/** Recognise one piece of a split file: its utterances, timed from the start of the whole recording. */
export interface PieceJob {
  readonly kind: 'piece';
  readonly utterances: readonly Utterance[];
  /** As `FileJob.progress`: set on the pieces of a file job that has it. */
  readonly progress?: boolean;
}

export type Job = FileJob | PieceJob;

/** The recognised words (times from the start of the recording). */
export interface WordsResult {
  readonly kind: 'words';
  readonly words: readonly Word[];
  /** The input's duration (seconds); for a piece, its own. */
  readonly duration: number;
  /** Whether the worker gave its freed memory back to the system as the job ended. */
  readonly released?: boolean;
}

/** The words of one piece, and where it starts in the recording (samples). */
export interface PartWords {
  readonly start: number;
  readonly words: readonly Word[];
}

/** A split file's first pass: the words of the pieces it recognised itself (the others were handed out). */
export interface SplitResult {
  readonly kind: 'split';
  readonly parts: readonly PartWords[];
  /** The input's duration (seconds). */
  readonly duration: number;
  /** As in `WordsResult`. */
  readonly released?: boolean;
}

export type JobResult = WordsResult | SplitResult;

/** The sample buffers a message carries, moved rather than copied between threads (hours of audio are hundreds of MB). */
export function sampleBuffers(utterances: readonly Utterance[]): ArrayBuffer[] {
  return utterances.map((u) => u.pcm.buffer as ArrayBuffer);
}
