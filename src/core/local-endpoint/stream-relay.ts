/**
 * A streamed transcription relayed to the endpoint's caller in OpenAI's events (protocol/stream.ts), each delta as the
 * core tells its segment, while the core reads and checks the server's stream. `transcript.text.done` (after the
 * enclave's receipt event) is sent only once the core verified the receipt against the whole text and the deltas;
 * a stream the core refuses, or that fails, ends with OpenAI's `error` event carrying the core's code instead, which
 * OpenAI's SDKs raise. A failure before the first event is answered as any other (JSON, with its status).
 */
import type { ServerResponse } from 'node:http';
import { eventBytes, STREAM_EVENTS, STREAM_HEADERS, type StreamDelta } from '../../protocol/stream.js';
import type { StreamedSegment } from '../transport/transcribe-stream.js';
import type { TranscriptResult } from '../transport/transcribe.js';
import { failureAnswer, ignoredFieldsHeader } from './answers.js';

/** What a streamed transcription tells the relay as it goes. */
export interface StreamEvents {
  /** The server accepted the stream and said its engine ignores these fields (relayed in the answer's head). */
  onAccepted(ignoredFields: readonly string[]): void;
  onSegment(segment: StreamedSegment): void;
}

/** The streamed transcription to relay: it tells `events` what comes, and resolves once verified. */
export type StreamRun = (events: StreamEvents) => Promise<TranscriptResult>;

/** How a relayed stream ended once it had begun: verified and done, or with the error event for `failure`. */
export type RelayedStream = { readonly result: TranscriptResult } | { readonly failure: unknown };

/** Relays `run` to `res` as events and ends `res`; throws (nothing sent) a failure that came before any event. */
export async function relayStream(res: ServerResponse, run: StreamRun): Promise<RelayedStream> {
  let ignored: readonly string[] = [];
  const send = (event: object) => {
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) res.writeHead(200, { ...STREAM_HEADERS, ...ignoredFieldsHeader(ignored) });
    res.write(eventBytes(event));
  };
  try {
    const result = await run({
      onAccepted: (fields) => (ignored = fields),
      onSegment: (segment) => send({ type: STREAM_EVENTS.delta, delta: segment.delta, start: segment.start, end: segment.end } satisfies StreamDelta),
    });
    send({ type: STREAM_EVENTS.receipt, receipt: result.receipt.file.document });
    send({ type: STREAM_EVENTS.done, text: result.body });
    res.end();
    return { result };
  } catch (err) {
    if (!res.headersSent) throw err;
    const { error } = failureAnswer(err).body as { error: object };
    send({ type: STREAM_EVENTS.error, error });
    res.end();
    return { failure: err };
  }
}
