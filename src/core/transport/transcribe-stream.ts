/**
 * A streamed transcription (protocol/stream.ts): the upload as `transcribe` sends it, with `stream=true`, and the
 * server's events read as they come. Each segment is handed to the caller at once, marked by nothing but the promise
 * still pending: the transcript is the enclave's only once the promise resolves, after the receipt event verified
 * against the done event's text and the deltas joined equal that text. A stream that breaks the protocol's order, is
 * cut before `done`, goes on past what a transcript can be, or has no valid receipt is refused with its own code.
 */
import { ChannelError, ReceiptError } from '../errors.js';
import { oneLine } from '../../shared/text.js';
import { MAX_STREAM_BYTES, MAX_STREAM_EVENT_BYTES, STREAM_CONTENT_TYPE, STREAM_EVENTS, STREAM_FIELD, STREAM_RECEIPT_FORMAT, STREAM_TRUE } from '../../protocol/stream.js';
import { abandonBody, toChannelError } from './responses.js';
import { startDeadline } from './deadline.js';
import { checkReceipt, ignoredFieldsOf, parseTranscript, upload, type TranscribeOptions, type TranscriptResult } from './transcribe.js';
import type { AudioSource } from '../audio-source.js';
import type { PinnedRequester } from './request.js';

/** One segment as the stream tells it, before the receipt has verified anything. */
export interface StreamedSegment {
  /** From 0, in order. */
  readonly index: number;
  /** The segment's text (without the space that joins it to the one before). */
  readonly text: string;
  /** The delta event's text as sent (with that space): the deltas joined are the transcript. */
  readonly delta: string;
  /** Seconds into the audio, as the server says (not covered by the receipt). */
  readonly start: number;
  readonly end: number;
}

export interface TranscribeStreamOptions extends Omit<TranscribeOptions, 'format'> {
  /**
   * Once the server has accepted the stream (its answer's head, before any segment): the request's fields it says its
   * engine ignores (no receipt covers them), as `ignoredFields` of the result will say.
   */
  readonly onAccepted?: (ignoredFields: readonly string[]) => void;
  /** Each segment as it arrives, unverified until the transcription resolves. */
  readonly onSegment?: (segment: StreamedSegment) => void;
  /** The whole stream, from its headers to its end (default 40 minutes: past the server's 30-minute request deadline). */
  readonly streamTimeoutMs?: number;
}

const DEFAULT_STREAM_TIMEOUT_MS = 40 * 60_000;

/** Where the reader is in the protocol's order: deltas, then the receipt, then done, then the end. */
type Stage = 'deltas' | 'receipted' | 'done';

/**
 * Uploads `source` with `stream=true` and returns the verified transcript (format `text`, with its segments), having
 * told each segment to `onSegment` as it came. Throws `ChannelError` (`STREAM_*` for a stream that breaks the
 * protocol, `SERVER_ERROR` for the server's error event) or `ReceiptError`.
 */
export async function transcribeStream(session: PinnedRequester, source: AudioSource, options: TranscribeStreamOptions = {}): Promise<TranscriptResult> {
  const { response, nonce, audioSha256 } = await upload(session, source, { [STREAM_FIELD]: STREAM_TRUE }, options);
  const host = session.origin.host;
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.split(';')[0]!.trim().toLowerCase() !== STREAM_CONTENT_TYPE) {
    abandonBody(response.body);
    throw new ChannelError('PROTOCOL_ERROR', `${host} answered a streamed transcription with ${JSON.stringify(oneLine(contentType, 60))}, not ${STREAM_CONTENT_TYPE}.`);
  }
  options.onAccepted?.(ignoredFieldsOf(response));
  const deadline = startDeadline(options.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS, `The streamed transcript from ${host}`, options.signal);
  const stop = () => abandonBody(response.body);
  deadline.signal.addEventListener('abort', stop, { once: true });
  const segments: StreamedSegment[] = [];
  let joined = '';
  let receipt: unknown;
  let doneText: string | undefined;
  let stage = 'deltas' as Stage;
  const take = (event: StreamEvent) => {
    if (stage === 'done') throw outOfOrder(host, `${event.type} after ${STREAM_EVENTS.done}`);
    switch (event.type) {
      case STREAM_EVENTS.delta: {
        if (stage !== 'deltas') throw outOfOrder(host, `a delta after the receipt`);
        const previous = segments.at(-1);
        if (previous && event.start < previous.end) throw outOfOrder(host, `segment ${segments.length} starts at ${event.start} s, before segment ${segments.length - 1} ends (${previous.end} s)`);
        const text = segments.length > 0 && event.delta.startsWith(' ') ? event.delta.slice(1) : event.delta;
        const segment = { index: segments.length, text, delta: event.delta, start: event.start, end: event.end };
        segments.push(segment);
        joined += event.delta;
        options.onSegment?.(segment);
        return;
      }
      case STREAM_EVENTS.receipt:
        if (stage !== 'deltas') throw outOfOrder(host, 'a second receipt');
        receipt = event.receipt;
        stage = 'receipted';
        return;
      case STREAM_EVENTS.done:
        if (stage !== 'receipted') throw new ReceiptError('RECEIPT_MISSING', `${host} ended the streamed transcript without a receipt: no enclave signed for it, so it is not shown.`);
        doneText = event.text;
        stage = 'done';
        return;
      case STREAM_EVENTS.error:
        throw new ChannelError('SERVER_ERROR', `The server stopped the streamed transcription with an error.`, { status: response.statusCode, serverCode: oneLine(event.code, 64) || undefined, serverMessage: oneLine(event.message, 300) || undefined });
    }
  };
  try {
    await readEvents(response.body, host, take);
  } catch (err) {
    abandonBody(response.body);
    throw deadline.failure() ?? toChannelError(err, session.origin);
  } finally {
    deadline.signal.removeEventListener('abort', stop);
    deadline.dispose();
  }
  if (stage !== 'done' || doneText === undefined) throw new ChannelError('STREAM_INCOMPLETE', `${host} ended the streamed transcript before its ${STREAM_EVENTS.done} event (after ${segments.length} segments): what came is not shown.`);
  const body = Buffer.from(doneText, 'utf8');
  // The receipt binds the done event's text; what was shown as it came must be that very text.
  const verified = checkReceipt(session, response.enclave, { header: receipt, where: `${STREAM_EVENTS.receipt} event`, nonce, audioName: source.name, audioSha256, body, format: STREAM_RECEIPT_FORMAT });
  if (joined !== doneText) throw new ReceiptError('STREAM_TEXT_MISMATCH', `The ${segments.length} segments ${host} streamed, joined, are not the text its receipt binds: what was shown as it came is not the enclave's transcript.`);
  return { ...parseTranscript(STREAM_RECEIPT_FORMAT, doneText), segments: segments.map(({ start, end, text }) => ({ start, end, text })), enclave: response.enclave, receipt: verified, ignoredFields: ignoredFieldsOf(response) };
}

function outOfOrder(host: string, what: string): ChannelError {
  return new ChannelError('STREAM_OUT_OF_ORDER', `${host} sent ${what}: the streamed transcript is refused.`);
}

/** The events of the protocol, checked field by field. */
type StreamEvent =
  | { readonly type: typeof STREAM_EVENTS.delta; readonly delta: string; readonly start: number; readonly end: number }
  | { readonly type: typeof STREAM_EVENTS.receipt; readonly receipt: unknown }
  | { readonly type: typeof STREAM_EVENTS.done; readonly text: string }
  | { readonly type: typeof STREAM_EVENTS.error; readonly code: string; readonly message: string };

/**
 * Reads `body` as the protocol's events (each `data: <JSON>` and a blank line; nothing else) and hands each to `take`
 * in order; bounded by `MAX_STREAM_BYTES` in all and `MAX_STREAM_EVENT_BYTES` per event.
 */
async function readEvents(body: AsyncIterable<unknown>, host: string, take: (event: StreamEvent) => void): Promise<void> {
  const tooLong = (what: string) => new ChannelError('STREAM_TOO_LONG', `${host} sent ${what}: the streamed transcript is refused.`);
  let pending = Buffer.alloc(0);
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > MAX_STREAM_BYTES) throw tooLong(`more than ${MAX_STREAM_BYTES} bytes`);
    pending = Buffer.concat([pending, chunk as Buffer]);
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      take(parseEvent(pending.subarray(0, end).toString('utf8'), host));
      pending = pending.subarray(end + 2);
    }
    if (pending.length > MAX_STREAM_EVENT_BYTES) throw tooLong(`an event longer than ${MAX_STREAM_EVENT_BYTES} bytes`);
  }
  if (pending.length > 0) throw new ChannelError('STREAM_INCOMPLETE', `${host} ended the streamed transcript inside an event.`);
}

const PREFIX = 'data: ';
const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function parseEvent(block: string, host: string): StreamEvent {
  const malformed = (why: string) => new ChannelError('STREAM_MALFORMED', `${host} sent an event that ${why}: the streamed transcript is refused.`);
  if (!block.startsWith(PREFIX) || block.includes('\n')) throw malformed('is not one data line');
  let json: unknown;
  try {
    json = JSON.parse(block.slice(PREFIX.length));
  } catch {
    throw malformed('is not JSON');
  }
  const e = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  switch (e.type) {
    case STREAM_EVENTS.delta:
      if (typeof e.delta !== 'string' || !finite(e.start) || !finite(e.end) || e.end < e.start) throw malformed('is a delta without text and times');
      return { type: e.type, delta: e.delta, start: e.start, end: e.end };
    case STREAM_EVENTS.receipt:
      return { type: e.type, receipt: e.receipt };
    case STREAM_EVENTS.done:
      if (typeof e.text !== 'string') throw malformed('is a done event without text');
      return { type: e.type, text: e.text };
    case STREAM_EVENTS.error: {
      const error = (typeof e.error === 'object' && e.error !== null ? e.error : {}) as Record<string, unknown>;
      return { type: e.type, code: typeof error.code === 'string' ? error.code : '', message: typeof error.message === 'string' ? error.message : '' };
    }
    default:
      throw malformed(`has the unknown type ${JSON.stringify(oneLine(String(e.type), 40))}`);
  }
}
