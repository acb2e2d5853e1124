/**
 * The speech engine behind the transcription endpoints. An engine takes an
 * uploaded audio file (already on disk, in the enclave's memory-backed temp
 * storage) and returns a transcript with timed segments.
 */
import type { Segment } from '../../protocol/transcript.js';

export interface Transcript {
  readonly text: string;
  readonly segments: readonly Segment[];
  /** Length of the audio in seconds. */
  readonly duration: number;
  /** BCP-47-ish language tag of the model, e.g. `en`. */
  readonly language: string;
}

export interface TranscribeRequest {
  /** Path of the uploaded file. */
  readonly path: string;
  /** The client's file name (only used to guess the format when the bytes do not say). */
  readonly filename?: string;
  readonly language?: string;
  /** Aborted when the client goes away or the request times out. */
  readonly signal?: AbortSignal;
}

export interface TranscriptionEngine {
  /** `pocketsphinx` or `whisper-http`: attested in `user_data`. */
  readonly name: string;
  /** The model, e.g. `en-us (cmusphinx)`: attested in `user_data`. */
  readonly model: string;
  /**
   * The languages it transcribes (primary subtags, e.g. `['en']`); absent: any the caller names (the model detects or
   * follows it). A request naming another is refused with 422 `LANGUAGE_UNSUPPORTED`, never transcribed as English.
   */
  readonly languages?: readonly string[];
  transcribe(request: TranscribeRequest): Promise<Transcript>;
  /** Lets running jobs finish, then frees workers. */
  close(): Promise<void>;
}

/** Why an engine refused (the `code` of an `EngineError`, as every BlindBox error family has one); the HTTP layer maps each code to its status and answers it as the JSON error `code`. */
export type EngineErrorCode =
  | 'UNREADABLE_AUDIO' // 400: the bytes are not decodable audio of a supported format
  | 'UNSUPPORTED_FORMAT' // 415: a container/codec we do not take
  | 'EMPTY_AUDIO' // 400: decodes to no samples
  | 'TOO_LONG' // 413: longer than the server's duration limit
  | 'BUSY' // 429: the queue is full
  | 'UNAVAILABLE' // 503: the engine is down (upstream unreachable, workers dead)
  | 'TIMEOUT' // 504
  | 'CANCELLED'; // the client went away

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/** The refusal for a request whose client went away (or whose time ran out) while it was handled. */
export function cancelled(cause?: unknown): EngineError {
  return new EngineError('CANCELLED', 'The transcription was cancelled.', cause === undefined ? undefined : { cause });
}
