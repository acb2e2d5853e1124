/** What the PocketSphinx engine and its workers exchange (through `WorkerPool`). */
import type { Codec } from '../../../protocol/audio-format.js';
import type { Word } from '../segments.js';
import type { Utterance } from './utterances.js';

/** Set once per worker, as its `workerData`. */
export interface WorkerSetup {
  readonly modelDir: string;
  /** Utterance length bounds for long recordings (seconds). */
  readonly utterance: { readonly minSeconds: number; readonly maxSeconds: number };
}

/** Decode an uploaded file; recognise it, or (with `split`, when it is long enough) hand back its pieces. */
export interface FileJob {
  readonly kind: 'file';
  readonly path: string;
  readonly codec: Codec;
  /** Refuse audio longer than this (seconds). */
  readonly maxSeconds: number;
  /** Audio at least `minSeconds` long comes back as pieces of about `pieceSeconds` for other workers to share. */
  readonly split?: { readonly minSeconds: number; readonly pieceSeconds: number };
}

/** Recognise one piece of a split file: its utterances, timed from the start of the whole recording. */
export interface PieceJob {
  readonly kind: 'piece';
  readonly utterances: readonly Utterance[];
}

export type Job = FileJob | PieceJob;

/** The recognised words (times from the start of the recording). */
export interface WordsResult {
  readonly kind: 'words';
  readonly words: readonly Word[];
  /** The input's duration (seconds); for a piece, its own. */
  readonly duration: number;
}

/** A long file's 16 kHz audio, decoded once and grouped into pieces (`groupIntoPieces`), in order. */
export interface PiecesResult {
  readonly kind: 'pieces';
  readonly pieces: readonly (readonly Utterance[])[];
  /** The input's duration (seconds). */
  readonly duration: number;
}

export type JobResult = WordsResult | PiecesResult;

/** The sample buffers a message carries, moved rather than copied between threads (hours of audio are hundreds of MB). */
export function sampleBuffers(utterances: readonly Utterance[]): ArrayBuffer[] {
  return utterances.map((u) => u.pcm.buffer as ArrayBuffer);
}
