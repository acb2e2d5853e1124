/** What a transcription answers: its formats and their timed segments. */

/** The `response_format`s of `/v1/audio/transcriptions` (OpenAI's set). */
export const TRANSCRIPT_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** The server's answer when no `response_format` is given (OpenAI's default). */
export const DEFAULT_TRANSCRIPT_FORMAT: TranscriptFormat = 'json';

/** Whether `value` names one of `TRANSCRIPT_FORMATS`. */
export function isTranscriptFormat(value: string): value is TranscriptFormat {
  return (TRANSCRIPT_FORMATS as readonly string[]).includes(value);
}

/** One timed piece of a transcript; times in seconds from the start of the audio. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** One timed word (`timestamp_granularities[]=word`); times in seconds from the start of the audio. */
export interface TimedWord {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

/** OpenAI's `timestamp_granularities[]` values. */
export const TIMESTAMP_GRANULARITIES = ['word', 'segment'] as const;
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

/** The `verbose_json` answer. */
export interface VerboseTranscript {
  /** `translate` on `/v1/audio/translations`. */
  readonly task: 'transcribe' | 'translate';
  /** BCP-47-ish language tag of the model, e.g. `en`. */
  readonly language: string;
  /** Length of the audio in seconds. */
  readonly duration: number;
  readonly text: string;
  /** The model, as attested in the service description. */
  readonly model: string;
  readonly segments: readonly (Segment & { readonly id: number })[];
  /** With `timestamp_granularities[]=word`: every word, in order. */
  readonly words?: readonly TimedWord[];
}
