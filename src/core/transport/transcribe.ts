/**
 * Uploading audio over an attested session and reading the transcript back.
 *
 * The file is streamed (a Blob backed by the file on disk, encoded as
 * multipart by `form-data-encoder`), so a 1 GB recording is never held in
 * memory; progress counts the bytes handed to the pinned connection. The
 * request goes to the OpenAI-compatible endpoint, which can answer in every
 * format the editor offers. Nothing is returned until the answer's receipt
 * (protocol/receipt.ts) is verified: signed for this request's nonce, on this
 * connection's key, over the audio bytes sent and the body bytes received.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { FormDataEncoder, isFile } from 'form-data-encoder';
import { ChannelError, InputError, ReceiptError } from '../errors.js';
import { abandonBody, busyWaitMs, readBodyLimited, throwForStatus, toChannelError } from './responses.js';
import { ENDPOINTS, IGNORED_FIELDS_HEADER, UPLOAD_FIELDS } from '../../protocol/endpoints.js';
import { CLIENT_NONCE_BYTES } from '../../protocol/limits.js';
import { MAX_RECEIPT_HEADER_BYTES, RECEIPT_HEADER, RECEIPT_NONCE_HEADER } from '../../protocol/receipt.js';
import { STREAM_FIELD, STREAM_TRUE } from '../../protocol/stream.js';
import { buildReceiptFile, type ReceiptFile } from '../receipt/file.js';
import { documentFromBase64, verifyReceiptDocument, type VerifiedReceipt } from '../receipt/verify.js';
import { toHex } from '../util/hex.js';
import { sha256Hex } from '../util/sha256.js';
import type { AttestedEnclave } from './attested-enclave.js';
import { wireFileName } from './wire-file-name.js';
import { attestedHpkeKey, openAnswer, sealUpload } from './sealed-upload.js';
import { sealedLength } from '../../protocol/sealed-body.js';
import type { SenderSide } from '../../shared/sealed-body.js';
import { isTranscriptFormat, type Segment, type TimestampGranularity, type TranscriptFormat, type VerboseTranscript } from '../../protocol/transcript.js';
import { oneLine } from '../../shared/text.js';
import type { PinnedRequester, PinnedResponse } from './request.js';
import type { AudioSource } from '../audio-source.js';
import type { RetryNotice } from '../util/retry-notice.js';

export { busyWaitMs };

/** A transcript as the server's answer says it. */
export interface ParsedTranscript {
  readonly format: TranscriptFormat;
  /** The server's answer as received (text, JSON, SRT or VTT). */
  readonly body: string;
  /** The plain transcript text. */
  readonly text: string;
  /** Present for `verbose_json`. */
  readonly segments?: readonly Segment[];
  readonly duration?: number;
  readonly language?: string;
}

/** A receipt verified on the connection it came on, and its self-contained file. */
export interface TranscriptReceipt {
  readonly verified: VerifiedReceipt;
  readonly file: ReceiptFile;
}

/**
 * A transcript, the attested enclave whose key the connection that carried the audio presented, and the receipt
 * that enclave signed for exactly this audio and this body.
 */
export interface TranscriptResult extends ParsedTranscript {
  readonly enclave: AttestedEnclave;
  readonly receipt: TranscriptReceipt;
  /** The request's fields the server says its engine took no notice of (`IGNORED_FIELDS_HEADER`; no receipt covers it). */
  readonly ignoredFields: readonly string[];
}

export interface TranscribeOptions {
  readonly format?: TranscriptFormat;
  readonly language?: string;
  /** `translate`: the speech in English, from `/v1/audio/translations` (engines that cannot refuse it with 422). Default `transcribe`. */
  readonly task?: TranscriptionTask;
  /** Text to condition the model on (OpenAI's `prompt`); an engine that takes none says so (`IGNORED_FIELDS_HEADER`). */
  readonly prompt?: string;
  /** Sampling temperature, 0 to 1 (OpenAI's `temperature`). */
  readonly temperature?: number;
  /** OpenAI's `timestamp_granularities[]`: `word` adds timed words to a `verbose_json` transcript. */
  readonly timestampGranularities?: readonly TimestampGranularity[];
  readonly signal?: AbortSignal;
  /** Called as bytes are handed to the connection. */
  readonly onProgress?: (sent: number, total: number) => void;
  /**
   * Longest wait for the answer's headers after the upload, the engine's time (default 10 minutes); its body must then
   * arrive whole within the session's `timeoutMs`.
   */
  readonly timeoutMs?: number;
  /**
   * Busy answers (429/503 with `Retry-After`) retried, and the longest wait honoured (default 3 retries, 30 s). Each
   * retry is a new request with its own budget of connection attempts (`ConnectOptions.attempts`): at most
   * (1 + maxRetries) × attempts connection attempts for one transcription.
   */
  readonly retry?: Partial<RetryPolicy>;
  /** Called before each wait for a busy server, to show it; the wait can be cancelled with `signal`. */
  readonly onRetry?: (notice: RetryNotice) => void;
  /**
   * Seal the audio to the enclave's attested HPKE key even over pinned TLS (default: only when TLS is inspected and
   * the session allows it, where it is required). An enclave that attests no HPKE key gets it over pinned TLS.
   */
  readonly seal?: boolean;
}

/** What the server is asked to do with the speech. */
export type TranscriptionTask = 'transcribe' | 'translate';

/** The path each task is sent to, and the one its receipt must name. */
const TASK_ENDPOINTS = { transcribe: ENDPOINTS.transcriptions, translate: ENDPOINTS.translations } as const;

/** How many busy answers are retried, and the longest `Retry-After` honoured; a server asking for more is not retried. */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly maxWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, maxWaitMs: 30_000 };

/** The engine's time a client waits for by default: for the answer to begin, and for each next segment of a stream. */
export const DEFAULT_ENGINE_TIMEOUT_MS = 10 * 60_000;

/** Largest answer read back (a transcript of the longest audio a server takes is far smaller). */
const MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024;

/** Uploads `source` over the pinned channel of `session` (an `AttestedSession`) and returns the transcript. */
export async function transcribe(session: PinnedRequester, source: AudioSource, options: TranscribeOptions = {}): Promise<TranscriptResult> {
  // The client's default is plain text (the server's, without a response_format, is JSON).
  const format = options.format ?? 'text';
  if (!isTranscriptFormat(format)) throw new InputError('INVALID_OPTION', `unknown transcript format ${JSON.stringify(format)}`);
  const { response, nonce, audioSha256, sealing } = await upload(session, source, { [UPLOAD_FIELDS.responseFormat]: format }, options);
  const endpoint = TASK_ENDPOINTS[options.task ?? 'transcribe'];
  // The engine's time is spent before the headers (`timeoutMs`); the body is then sent at once, within the session's timeout.
  const received = await readBodyLimited(response.body, { maxBytes: sealedLength(MAX_TRANSCRIPT_BYTES), timeoutMs: session.timeoutMs, what: 'transcript', origin: session.origin });
  const bytes = sealing ? await openAnswer(sealing, response, received, session.origin.host) : received;
  // Nothing of the answer is parsed, let alone returned, before the enclave's signature over it is checked.
  const receipt = checkReceipt(session, response.enclave, { header: response.headers[RECEIPT_HEADER], nonce, audioName: source.name, audioSha256, body: bytes, format });
  // A transcript is not a translation: the enclave names the endpoint it answered.
  if (receipt.verified.content.endpoint !== endpoint) throw new ReceiptError('RECEIPT_MISMATCH', `The receipt is for ${JSON.stringify(oneLine(receipt.verified.content.endpoint, 60))}, not for the ${endpoint} asked.`);
  return { ...parseTranscript(format, bytes.toString('utf8')), enclave: response.enclave, receipt, ignoredFields: ignoredFieldsOf(response) };
}

/** A transcription request answered with 2xx: the answer, the receipt nonce it was sent with, the SHA-256 of the audio it carried. */
export interface AnsweredUpload {
  readonly response: PinnedResponse;
  readonly nonce: Uint8Array;
  readonly audioSha256: string;
  /** The sealed context of the request when its body went sealed to the enclave: its answer is sealed too. */
  readonly sealing: SenderSide | undefined;
}

/**
 * Sends `source` with `fields` (and the language of `options`) to the transcription endpoint, retrying busy answers,
 * and returns the first 2xx answer, its body unread; throws for any other answer, or one that came before the whole
 * audio was handed to the connection.
 */
export async function upload(session: PinnedRequester, source: AudioSource, fields: Readonly<Record<string, string>>, options: Omit<TranscribeOptions, 'format'>): Promise<AnsweredUpload> {
  const task = options.task ?? 'transcribe';
  const path = TASK_ENDPOINTS[task];
  if (task === 'translate' && fields[STREAM_FIELD] === STREAM_TRUE) throw new InputError('INVALID_OPTION', 'A translation is not streamed: translate without streaming.');
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...fields, ...requestFields(options) })) form.set(name, value);
  for (const granularity of options.timestampGranularities ?? []) form.append(UPLOAD_FIELDS.timestampGranularities, granularity);
  form.set(UPLOAD_FIELDS.file, source.blob, wireFileName(source.name));
  const encoder = new FormDataEncoder(form);
  const total = source.blob.size;
  // A new stream per attempt: a connection that fails before answering is retried on another with the same bytes.
  // Each attempt hashes what it sends; the attempt that was answered made the last `sent`.
  let sent = newSentBody();
  // The sealed context of the attempt made last (the one answered), to open its answer; undefined when sent plain.
  let sealing: SenderSide | undefined;
  const plaintext = () => {
    sent = newSentBody();
    return counted(hashingFile(encoder, sent), encoder.contentLength, total, options.onProgress);
  };
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  // Busy answers are retried here, not by undici's RetryHandler: each attempt goes back through the session (which
  // lends an attested connection, attesting a new one if needed, within that request's budget of connection attempts),
  // with a fresh nonce and a fresh hash of the re-streamed file, and the wait is shown to the user and cancellable.
  for (let attempt = 0; ; attempt++) {
    const nonce = randomBytes(CLIENT_NONCE_BYTES);
    const response = await session.request(path, {
      method: 'POST',
      // Made for the channel that carries it: sealed to that enclave's attested HPKE key when its TLS is inspected.
      prepare: async (enclave) => {
        sealing = undefined;
        if (enclave.binding.bound && !(options.seal && attestedHpkeKey(enclave))) {
          return { headers: { ...encoder.headers, [RECEIPT_NONCE_HEADER]: toHex(nonce) }, body: Readable.from(plaintext()), sealed: false };
        }
        // A sealed answer is opened whole: its events could not be told as they come, so a stream is not sealed.
        if (fields[STREAM_FIELD] === STREAM_TRUE) throw sealedStreamRefusal(session.origin.host);
        const request = { path, contentType: encoder.contentType, contentLength: Number(encoder.contentLength), receiptNonce: nonce, now: session.clock() };
        const attempt = await sealUpload(enclave, request, plaintext());
        sealing = attempt.side;
        return { headers: { ...attempt.headers, [RECEIPT_NONCE_HEADER]: toHex(nonce) }, body: attempt.body, sealed: true };
      },
      signal: options.signal,
      headersTimeoutMs: options.timeoutMs ?? DEFAULT_ENGINE_TIMEOUT_MS,
      bodyTimeoutMs: fields[STREAM_FIELD] === STREAM_TRUE ? (options.timeoutMs ?? DEFAULT_ENGINE_TIMEOUT_MS) : undefined,
    });
    const waitMs = busyWaitMs(response, Date.now());
    if (waitMs !== undefined && attempt < retry.maxRetries && waitMs <= retry.maxWaitMs) {
      await response.body.dump({ limit: 128 * 1024, signal: AbortSignal.timeout(session.timeoutMs) }).catch(() => undefined);
      options.onRetry?.({ status: response.statusCode, retry: attempt + 1, maxRetries: retry.maxRetries, waitMs });
      await sleep(waitMs, options.signal, session.origin);
      continue;
    }
    const after = waitMs === undefined ? '' : busyGivenUp(waitMs, attempt, retry.maxWaitMs);
    await throwForStatus(response, 'transcription', { origin: session.origin, timeoutMs: session.timeoutMs, after });
    // A server answers only once it has read the whole upload; before that, what was hashed is a prefix no receipt may cover.
    if (!sent.complete) {
      abandonBody(response.body);
      throw new ReceiptError('UPLOAD_INCOMPLETE', `${session.origin.host} answered before it had received the whole audio (${sent.fileBytes} of ${total} bytes sent): no receipt can cover the audio, so its transcript is not shown.`);
    }
    return { response, nonce, audioSha256: sent.hash.digest('hex'), sealing };
  }
}

/** The refusals to stream where the audio must be sealed: nothing of the audio was sent, and it may be sent unstreamed. */
const sealedStreamRefusals = new WeakSet<InputError>();

function sealedStreamRefusal(host: string): InputError {
  const err = new InputError('INVALID_OPTION', `Streaming is not available when the audio must be sealed to the enclave (TLS to ${host} is inspected, or sealing was asked for): transcribe without streaming.`);
  sealedStreamRefusals.add(err);
  return err;
}

/** Whether `err` is the core's refusal to stream on a channel that must seal (the same request, unstreamed, can go). */
export function isSealedStreamRefusal(err: unknown): boolean {
  return err instanceof InputError && sealedStreamRefusals.has(err);
}

/** The optional fields of `options` as the server reads them; a temperature outside 0 to 1 is refused before anything is sent. */
function requestFields(options: Omit<TranscribeOptions, 'format'>): Record<string, string> {
  const { temperature } = options;
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 1)) throw new InputError('INVALID_OPTION', `temperature ${temperature} is outside 0 to 1.`);
  const fields: Record<string, string> = {};
  if (options.language) fields[UPLOAD_FIELDS.language] = options.language;
  if (options.prompt) fields[UPLOAD_FIELDS.prompt] = options.prompt;
  if (temperature !== undefined) fields[UPLOAD_FIELDS.temperature] = String(temperature);
  return fields;
}

/** The field names of the answer's `IGNORED_FIELDS_HEADER`: a few short names, nothing else. */
export function ignoredFieldsOf(response: PinnedResponse): string[] {
  const header = response.headers[IGNORED_FIELDS_HEADER];
  if (typeof header !== 'string') return [];
  return header.split(',').map((name) => name.trim()).filter((name) => /^[a-z_[\]]{1,40}$/.test(name)).slice(0, 8);
}

/** Waits `ms`, or fails with `CANCELLED` at once when `signal` aborts. */
async function sleep(ms: number, signal: AbortSignal | undefined, origin: URL): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    throw toChannelError(err, origin);
  }
}

/**
 * Why a busy answer was not retried, as the end of our sentence: the retries were used up (" after 2 retries"; nothing
 * when none were allowed), or the wait it asked for is longer than the client waits.
 */
function busyGivenUp(waitMs: number, retries: number, maxWaitMs: number): string {
  const after = retries > 0 ? ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  if (waitMs <= maxWaitMs) return after;
  return `${after} (it asked to retry in ${Math.ceil(waitMs / 1000)} s, longer than the ${Math.round(maxWaitMs / 1000)} s waited at most)`;
}

/** What one attempt handed to the connection: the file's bytes and their hash so far, and whether the whole body went. */
interface SentBody {
  readonly hash: Hash;
  fileBytes: number;
  complete: boolean;
}

function newSentBody(): SentBody {
  return { hash: createHash('sha256'), fileBytes: 0, complete: false };
}

/**
 * The multipart body of `encoder`, hashing the file's bytes into `sent` as they are handed out (what was sent is what
 * is hashed), and marking it complete once its last byte was taken.
 */
async function* hashingFile(encoder: FormDataEncoder, sent: SentBody): AsyncGenerator<Uint8Array> {
  for (const part of encoder.values()) {
    if (!isFile(part)) {
      yield part;
      continue;
    }
    for await (const chunk of part.stream() as unknown as AsyncIterable<Uint8Array>) {
      sent.hash.update(chunk);
      sent.fileBytes += chunk.length;
      yield chunk;
    }
  }
  sent.complete = true;
}

/**
 * A receipt (`header`: its base64, as the header or a stream's receipt event carries it; `where` names which),
 * verified as the session verified `enclave`, the one that answered: chain to the very root that enclave's attestation
 * ended in, the PCRs that enclave attested (all of them, so the session's policy holds too), this request's nonce, the
 * key of the connection the answer came on, and both hashes. Throws `ReceiptError` or `AttestationError`.
 */
export function checkReceipt(
  session: PinnedRequester,
  enclave: AttestedEnclave,
  request: { header: unknown; where?: string; nonce: Uint8Array; audioName: string; audioSha256: string; body: Uint8Array; format: TranscriptFormat },
): TranscriptReceipt {
  const { header, where = `${RECEIPT_HEADER} header` } = request;
  if (header === undefined) throw new ReceiptError('RECEIPT_MISSING', `${session.origin.host} sent the transcript without a receipt: no enclave signed for it, so it is not shown.`);
  if (typeof header !== 'string' || header.length > MAX_RECEIPT_HEADER_BYTES) throw new ReceiptError('RECEIPT_MALFORMED', `The ${where} is not one value of at most ${MAX_RECEIPT_HEADER_BYTES} bytes.`);
  const document = documentFromBase64(header, where);
  const verified = verifyReceiptDocument(document, {
    now: session.clock(),
    roots: [enclave.attestation.root],
    expectedPcrs: enclave.attestation.pcrs,
    nonce: request.nonce,
    // The enclave's own TLS key: the one its socket holds, whether or not a middlebox presented another to us.
    publicKeySha256: enclave.binding.attestedKeySha256,
    moduleId: enclave.attestation.moduleId,
    format: request.format,
    audioSha256: request.audioSha256,
    transcriptSha256: sha256Hex(request.body),
    maxAgeMs: session.policy.maxAgeSeconds * 1000,
  });
  const file = buildReceiptFile(verified, {
    document,
    server: session.origin.origin,
    audioName: request.audioName,
    requestNonce: toHex(request.nonce),
    connectionKeySha256: enclave.binding.attestedKeySha256,
    policy: session.policy,
  });
  return { verified, file };
}

/** Reports progress in file bytes: the multipart framing around the file is spread proportionally. */
async function* counted(chunks: AsyncIterable<Uint8Array>, length: number | string | undefined, fileBytes: number, onProgress?: (sent: number, total: number) => void): AsyncGenerator<Uint8Array> {
  let sent = 0;
  const all = length ? Number(length) : fileBytes;
  for await (const chunk of chunks) {
    yield chunk;
    sent += chunk.length;
    onProgress?.(Math.min(fileBytes, Math.round((sent / all) * fileBytes)), fileBytes);
  }
}

/** Reads the server's answer in `format`; JSON that is not the expected shape is a protocol error. */
export function parseTranscript(format: TranscriptFormat, body: string): ParsedTranscript {
  if (format !== 'json' && format !== 'verbose_json') return { format, body, text: format === 'text' ? body.trim() : textOfSubtitles(body) };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ChannelError('PROTOCOL_ERROR', `The server's ${format} transcript is not valid JSON.`);
  }
  // Nothing the server says is trusted to have the documented shape: every field is checked.
  const j = json as { [K in keyof VerboseTranscript]?: unknown };
  if (typeof j.text !== 'string') throw new ChannelError('PROTOCOL_ERROR', `The server's ${format} transcript has no text.`);
  if (format === 'json') return { format, body, text: j.text.trim() };
  if (!Array.isArray(j.segments) || !j.segments.every(isSegment)) throw new ChannelError('PROTOCOL_ERROR', 'The server\'s verbose_json transcript has no valid segments.');
  return {
    format,
    body,
    text: j.text.trim(),
    segments: j.segments.map(({ start, end, text }) => ({ start, end, text })),
    duration: typeof j.duration === 'number' ? j.duration : undefined,
    language: typeof j.language === 'string' ? j.language : undefined,
  };
}

function isSegment(s: unknown): s is Segment {
  const v = s as Segment;
  return typeof v === 'object' && v !== null && Number.isFinite(v.start) && Number.isFinite(v.end) && typeof v.text === 'string';
}

/** The spoken text of SRT or VTT: cue lines without numbers, timings and the WEBVTT header. */
function textOfSubtitles(body: string): string {
  return body
    .split(/\r?\n/)
    .filter((line) => line.trim() && line.trim() !== 'WEBVTT' && !/^\d+$/.test(line.trim()) && !line.includes('-->'))
    .map((line) => line.trim())
    .join(' ');
}
