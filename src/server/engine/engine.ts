/**
 * The speech engine behind the transcription endpoints. An engine takes an
 * uploaded audio file (already on disk, in the enclave's memory-backed temp
 * storage) and returns a transcript with timed segments.
 */
import type { Segment, TimedWord } from '../../protocol/transcript.js';
import { SERVER_ERROR_CODES, type ServerErrorCode } from '../../protocol/server-errors.js';

export interface Transcript {
  readonly text: string;
  readonly segments: readonly Segment[];
  /** Length of the audio in seconds. */
  readonly duration: number;
  /** BCP-47-ish language tag of the model, e.g. `en`. */
  readonly language: string;
  /** Every word with its times, where the engine times words (PocketSphinx always, Whisper as whisper.cpp reports them). */
  readonly words?: readonly TimedWord[];
}

export interface TranscribeRequest {
  /** Path of the uploaded file. */
  readonly path: string;
  /** The client's file name (only used to guess the format when the bytes do not say). */
  readonly filename?: string;
  readonly language?: string;
  /** Sampling temperature, for engines that sample (Whisper); absent: the engine's default. */
  readonly temperature?: number;
  /** Text to condition the model on, for engines that take one (Whisper). */
  readonly prompt?: string;
  /** Translate the speech into English instead of transcribing it (only engines with `translates`). */
  readonly translate?: boolean;
  /** Aborted when the client goes away or the request times out. */
  readonly signal?: AbortSignal;
  /**
   * Called with each segment of the transcript, in order, as soon as the engine knows it (a streamed answer sends each
   * as it comes); the transcript then returned has exactly the segments told, and its text is theirs joined by spaces.
   */
  readonly onSegment?: (segment: Segment) => void;
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
  /** Whether it can translate (`TranscribeRequest.translate`); `/v1/audio/translations` is refused with 422 otherwise. */
  readonly translates?: boolean;
  /** The request fields it takes no notice of (`prompt`, `temperature`), named in the answer's `blindbox-ignored-fields`. */
  readonly ignores?: readonly ('prompt' | 'temperature')[];
  transcribe(request: TranscribeRequest): Promise<Transcript>;
  /** Lets running jobs finish, then frees workers. */
  close(): Promise<void>;
}

/**
 * Why an engine refuses: the `code` of an `EngineError`. Each is a wire code too (the HTTP layer answers it with its
 * status and `Retry-After` from `SERVER_ERROR_CODES`, and the error's message), so its default sentence is the wire's.
 */
export const ENGINE_ERROR_CODES = {
  /** The bytes are not decodable audio of a supported format. */
  UNREADABLE_AUDIO: SERVER_ERROR_CODES.UNREADABLE_AUDIO.sentence,
  /** A container or codec we do not take, or audio beyond speech. */
  UNSUPPORTED_FORMAT: SERVER_ERROR_CODES.UNSUPPORTED_FORMAT.sentence,
  /** Decodes to no samples. */
  EMPTY_AUDIO: SERVER_ERROR_CODES.EMPTY_AUDIO.sentence,
  /** Longer than the server's duration limit. */
  TOO_LONG: SERVER_ERROR_CODES.TOO_LONG.sentence,
  /** A language the engine cannot transcribe, or that is no language at all. */
  LANGUAGE_UNSUPPORTED: SERVER_ERROR_CODES.LANGUAGE_UNSUPPORTED.sentence,
  /** The queue is full (retried by clients). */
  BUSY: SERVER_ERROR_CODES.BUSY.sentence,
  /** The engine is down: upstream unreachable, workers dead, shutting down. */
  UNAVAILABLE: SERVER_ERROR_CODES.UNAVAILABLE.sentence,
  /** The engine broke mid-transcription: an upstream dropped the connection (its process died) or answered an error or nonsense. Not retried: the audio may be the cause. */
  ENGINE_FAILED: SERVER_ERROR_CODES.ENGINE_FAILED.sentence,
  /** The request's deadline passed, or the upstream did not answer in time. */
  TIMEOUT: SERVER_ERROR_CODES.TIMEOUT.sentence,
  /** The client went away. */
  CANCELLED: SERVER_ERROR_CODES.CANCELLED.sentence,
} as const satisfies Partial<Record<ServerErrorCode, string>>;

export type EngineErrorCode = keyof typeof ENGINE_ERROR_CODES;

/** An engine refused a transcription; `message` is sent to the client as the answer's message. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string = ENGINE_ERROR_CODES[code],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/** The refusal for a request whose client went away (or whose time ran out) while it was handled. */
export function cancelled(cause?: unknown): EngineError {
  return new EngineError('CANCELLED', undefined, cause === undefined ? undefined : { cause });
}
