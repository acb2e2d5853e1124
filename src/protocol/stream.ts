/**
 * Streamed transcriptions: `stream=true` on `POST /v1/audio/transcriptions` answers `text/event-stream` with OpenAI's
 * events, one `data:` line of JSON each, in this order (anything else is a hostile stream the client refuses):
 *
 *   data: {"type":"transcript.text.delta","delta":"Hello world.","start":0.4,"end":1.9}   ; one per segment, in order
 *   data: {"type":"transcript.text.delta","delta":" How are you?","start":2.3,"end":3.1}  ; after the first: a space, then the text
 *   data: {"type":"blindbox.receipt","receipt":"<standard base64 of the COSE_Sign1 document>"}
 *   data: {"type":"transcript.text.done","text":"Hello world. How are you?"}
 *
 * The deltas joined are the done event's `text`, exactly. The receipt cannot be a header (the transcript is known only
 * at the end), so it is an event of BlindBox's own type, which OpenAI's SDKs pass through as any event: it comes before
 * `done`, so that a caller that stops at `done` has it. Its document is an ordinary receipt (receipt.ts) with format
 * `text`: `transcript_sha256` is the SHA-256 of the done event's `text` as UTF-8, the very bytes a `response_format=text`
 * answer would have carried, so a saved stream's receipt is checked against its text file like any other. `start` and
 * `end` (seconds into the audio) are BlindBox's, for progress; the receipt does not cover them. A failure after the
 * stream began is one last event `{"type":"error","error":{"code","message"}}` (codes as in server-errors.ts), which
 * OpenAI's SDKs raise as an error.
 */
import type { TranscriptFormat } from './transcript.js';

/** The `type` of each event of a streamed transcription. */
export const STREAM_EVENTS = {
  delta: 'transcript.text.delta',
  receipt: 'blindbox.receipt',
  done: 'transcript.text.done',
  error: 'error',
} as const;

/** The multipart field asking for a stream, and the value that does (OpenAI's). */
export const STREAM_FIELD = 'stream';
export const STREAM_TRUE = 'true';

export const STREAM_CONTENT_TYPE = 'text/event-stream';

/** The format a stream's receipt states: the hash is over the done event's text, as a `text` answer's body. */
export const STREAM_RECEIPT_FORMAT: TranscriptFormat = 'text';

/** Longest event (one `data:` line) a client reads; a receipt is about 6 KiB of base64, a segment far less. */
export const MAX_STREAM_EVENT_BYTES = 64 * 1024;

/** Most bytes of one stream a client reads: far more than two hours of speech, far less than an endless stream. */
export const MAX_STREAM_BYTES = 16 * 1024 * 1024;

/** One delta event: the next segment's text (with its leading space after the first), and its times. */
export interface StreamDelta {
  readonly type: typeof STREAM_EVENTS.delta;
  readonly delta: string;
  readonly start: number;
  readonly end: number;
}

/** The text of the `index`-th delta (from 0) of a segment's `text`: segments are joined by one space. */
export function deltaText(index: number, text: string): string {
  return index === 0 ? text : ` ${text}`;
}

/** One event as it goes on the wire: its `data:` line and the blank line that ends it. */
export function eventBytes(event: object): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** The headers a stream is answered with (beside any of the answer's own). */
export const STREAM_HEADERS = { 'content-type': `${STREAM_CONTENT_TYPE}; charset=utf-8`, 'cache-control': 'no-store' } as const;
