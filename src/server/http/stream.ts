/**
 * A streamed transcription's answer (protocol/stream.ts): server-sent events, one per segment as the engine tells it,
 * then the receipt over the whole text, then `done`. The headers go out with the first event, so that a refusal the
 * engine makes before it hears anything (`BUSY`, bad audio) is still an ordinary JSON error with its status.
 */
import type { ServerResponse } from 'node:http';
import { deltaText, eventBytes, STREAM_EVENTS, STREAM_HEADERS, type StreamDelta } from '../../protocol/stream.js';
import type { Segment } from '../../protocol/transcript.js';
import type { Transcript } from '../engine/engine.js';
import { HttpError } from './respond.js';

/** How a stream is answered: the engine's run, telling each segment, and the receipt over the final text. */
export interface StreamAnswer {
  readonly transcribe: (onSegment: (segment: Segment) => void) => Promise<Transcript>;
  /** The receipt (base64 document) for the transcript text's UTF-8 bytes. */
  readonly receipt: (text: Buffer) => Promise<string>;
  /** Aborted when the answer must stop (client gone, deadline, shutdown). */
  readonly signal: AbortSignal;
  /** Headers of the answer beside its content type. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Writes one event, sending the headers first if they have not gone. */
function send(res: ServerResponse, event: object, headers: Readonly<Record<string, string>> = {}): void {
  if (!res.headersSent) res.writeHead(200, { ...STREAM_HEADERS, ...headers });
  res.write(eventBytes(event));
}

/** Answers `res` as a stream; throws what failed (`answerStreamFailure` ends a stream that had begun). */
export async function answerStream(res: ServerResponse, answer: StreamAnswer): Promise<void> {
  let told = '';
  let count = 0;
  const transcript = await answer.transcribe((segment) => {
    const delta = deltaText(count++, segment.text);
    told += delta;
    send(res, { type: STREAM_EVENTS.delta, delta, start: segment.start, end: segment.end } satisfies StreamDelta, answer.headers);
  });
  if (answer.signal.aborted) throw answer.signal.reason;
  // The engine's contract (engine.ts): the transcript is the segments it told. A receipt is never signed for other text.
  if (transcript.text !== told) throw new Error('the engine returned a transcript other than the segments it told');
  const receipt = await answer.receipt(Buffer.from(told, 'utf8'));
  if (answer.signal.aborted) throw answer.signal.reason;
  send(res, { type: STREAM_EVENTS.receipt, receipt }, answer.headers);
  send(res, { type: STREAM_EVENTS.done, text: told });
  res.end();
}

/**
 * Ends a stream that had begun with `failure` as its last event (OpenAI's error event, which its SDKs raise) and
 * returns true; false when nothing was sent yet, and the failure is answered as any other.
 */
export function answerStreamFailure(res: ServerResponse, failure: HttpError): boolean {
  if (!res.headersSent) return false;
  if (!res.writableEnded && !res.destroyed) {
    send(res, { type: STREAM_EVENTS.error, error: { code: failure.code, message: failure.message } });
    res.end();
  }
  return true;
}
