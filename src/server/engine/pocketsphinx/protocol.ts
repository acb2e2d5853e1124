/** What the PocketSphinx engine and its workers exchange (through `WorkerPool`). */
import type { Codec } from '../../../protocol/audio-format.js';
import type { Word } from '../segments.js';

/** Set once per worker, as its `workerData`. */
export interface WorkerSetup {
  readonly modelDir: string;
  /** Utterance length bounds for long recordings (seconds). */
  readonly utterance: { readonly minSeconds: number; readonly maxSeconds: number };
}

export interface Job {
  readonly path: string;
  readonly codec: Codec;
  /** Refuse audio longer than this (seconds). */
  readonly maxSeconds: number;
}

export interface JobResult {
  readonly words: readonly Word[];
  /** The input's duration (seconds). */
  readonly duration: number;
}
