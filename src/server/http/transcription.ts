/**
 * The transcription endpoints. The upload is streamed to a private temporary file (`upload.ts`), handed to the
 * engine, and deleted whatever happens. Every failure is a JSON error with a fitting status; nothing a client sends
 * yields a 500, and every request gives back its slot, its directory and its files on every path: success, error,
 * client gone, deadline, shutdown. Every answer carries a transcript receipt signed over its exact body (receipt.ts),
 * and is never sent without one.
 *
 *   POST /whisper/predict            multipart `audio`            → text/plain (BlindBox's API)
 *   POST /v1/audio/transcriptions    multipart `file`, `model`, `language`, `response_format` (OpenAI);
 *                                    `stream=true`: server-sent events as segments come, the receipt last (stream.ts)
 *   POST /v1/audio/translations      the same fields: English out, where the engine translates (422 otherwise)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENDPOINTS, IGNORED_FIELDS_HEADER, UPLOAD_FIELDS } from '../../protocol/endpoints.js';
import { MAX_UPLOAD_BYTES } from '../../protocol/limits.js';
import { DEFAULT_TRANSCRIPT_FORMAT, isTranscriptFormat, TIMESTAMP_GRANULARITIES, type TimestampGranularity, type TranscriptFormat, type VerboseTranscript } from '../../protocol/transcript.js';
import { EngineError, type Transcript, type TranscriptionEngine } from '../engine/engine.js';
import { toSrt, toVtt } from '../../protocol/subtitles.js';
import { HttpError } from './respond.js';
import { oneLine } from '../../shared/text.js';
import { receiptNonce, type ReceiptIssuer } from './receipt.js';
import { RECEIPT_HEADER, RECEIPT_NONCE_HEADER } from '../../protocol/receipt.js';
import { STREAM_FIELD, STREAM_RECEIPT_FORMAT, STREAM_TRUE } from '../../protocol/stream.js';
import { answerStream, answerStreamFailure } from './stream.js';
import { openSealedRequest, sealAnswer, sealedFailure, sealedHead, type SealedBodies } from './sealed-request.js';
import { checkUploadHead, clientGone, receiveUpload } from './upload.js';
import { Admission, type Ticket } from './admission.js';
import { directorySpace, insufficientStorage, isStorageFull, UploadBudget } from './upload-budget.js';
import type { Handler } from '../app.js';

export interface TranscriptionLimits {
  /** Largest upload accepted (default the protocol's MAX_UPLOAD_BYTES, 200 MB). */
  readonly maxUploadBytes: number;
  /** Requests admitted at once (uploading, queued or decoding); more are refused with 503 before their upload is read. */
  readonly maxInFlight: number;
  /**
   * Most bytes of uploads stored at once (default: no cap but the space the temporary directory's filesystem really
   * has, less a reserve; a cap above that space is bounded by it too).
   */
  readonly uploadBudgetBytes: number | undefined;
  /**
   * How long a request that finds every slot (or all the upload storage) taken waits its turn before `503` (default
   * 30 s); at most four times `maxInFlight` wait.
   */
  readonly admissionWaitMs: number;
  /** Whole-request deadline, upload included (default 30 min). */
  readonly requestTimeoutMs: number;
  /** Longest pause in the upload body before it is refused with 408 (default 30 s). */
  readonly uploadIdleTimeoutMs: number;
  /** Slowest average upload pace accepted after `uploadPaceGraceMs`, in bytes per second (default 8 KiB/s, 64 kbit/s). */
  readonly uploadMinBytesPerSecond: number;
  /** How long an upload may take to reach that pace (default 10 s). */
  readonly uploadPaceGraceMs: number;
  /**
   * Slowest recent pace an upload may keep while others wait for its slot or its storage (default 64 KiB/s): a slower
   * one is cut (`408 BODY_TOO_SLOW`) and gives its slot to the newcomer.
   */
  readonly uploadContendedBytesPerSecond: number;
  /** The window that contended pace is measured over, and how long a new upload has before it is judged (default 5 s). */
  readonly uploadContendedWindowMs: number;
  /** The `Retry-After` of busy answers (429 engine queue full, 503 every slot taken), in seconds (default 5). */
  readonly busyRetryAfterSeconds: number;
}

export const DEFAULT_LIMITS: TranscriptionLimits = {
  maxUploadBytes: MAX_UPLOAD_BYTES,
  maxInFlight: 8,
  uploadBudgetBytes: undefined,
  admissionWaitMs: 30_000,
  requestTimeoutMs: 30 * 60_000,
  uploadIdleTimeoutMs: 30_000,
  uploadMinBytesPerSecond: 8 * 1024,
  uploadPaceGraceMs: 10_000,
  uploadContendedBytesPerSecond: 64 * 1024,
  uploadContendedWindowMs: 5_000,
  busyRetryAfterSeconds: 5,
};

/**
 * Builds both handlers over one engine, sharing admission control; every answer carries a receipt from `receipts`
 * (protocol/receipt.ts), signed over the exact body it sends.
 */
export function transcriptionHandlers(
  engine: TranscriptionEngine,
  receipts: ReceiptIssuer,
  limits: Partial<TranscriptionLimits> = {},
  sealedBodies?: SealedBodies,
): { whisperPredict: Handler; openAiTranscriptions: Handler; openAiTranslations: Handler; inFlight: () => number } {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const admission = new Admission(
    {
      maxInFlight: lim.maxInFlight,
      paceWindowMs: lim.uploadContendedWindowMs,
      contendedBytesPerSecond: lim.uploadContendedBytesPerSecond,
      retryAfterSeconds: lim.busyRetryAfterSeconds,
      maxWaitMs: lim.admissionWaitMs,
      maxWaiting: 4 * lim.maxInFlight,
    },
    new UploadBudget(directorySpace(tmpdir()), lim.uploadBudgetBytes),
  );
  /** Connections with a transcription running: one each, so that one pipelining connection cannot take every slot. */
  const busyConnections = new WeakSet<object>();

  const run = (fileField: string, render: (transcript: Transcript, request: RenderRequest) => Rendered, task: Task = 'transcribe'): Handler =>
    async (req, res, url, shutdown, source) => {
      const requestTime = Date.now();
      // Refused before anything is read: this engine could never answer it.
      if (task === 'translate' && !engine.translates) throw HttpError.of('TRANSLATION_UNSUPPORTED', `This server's ${engine.name} engine cannot translate: ask ${ENDPOINTS.transcriptions} for a transcript instead.`);
      // Checked before anything is admitted or read: a bad nonce costs the server nothing.
      const nonce = receiptNonce(req);
      const sealed = sealedHead(req, url.pathname, sealedBodies, req.headers[RECEIPT_NONCE_HEADER] === undefined ? undefined : Buffer.from(nonce).toString('hex'), requestTime);
      if (busyConnections.has(req.socket)) {
        throw HttpError.of('ONE_PER_CONNECTION');
      }
      const declared = checkUploadHead(req, fileField, lim.maxUploadBytes, sealed);
      // One signal for every reason to stop: the deadline, the client gone (the queued job is dropped, the result of a
      // running one discarded), the upload cut for its pace, the server shutting down. Its reason is the answer.
      const controller = new AbortController();
      const stop = (reason: unknown) => controller.abort(reason);
      busyConnections.add(req.socket);
      const timer = setTimeout(() => stop(new EngineError('TIMEOUT')), lim.requestTimeoutMs);
      const onClose = () => {
        if (!res.writableFinished) stop(clientGone());
      };
      const onShutdown = () => stop(shutdown.reason);
      res.once('close', onClose);
      shutdown.addEventListener('abort', onShutdown, { once: true });
      if (shutdown.aborted) onShutdown();
      let dir: string | undefined;
      let ticket: Ticket | undefined;
      let streaming = false;
      try {
        ticket = await admission.admit(declared, source, stop, controller.signal);
        // Invited only now that it is admitted: a body the server would refuse is never asked for.
        if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
        dir = await mkdtemp(path.join(tmpdir(), 'blindbox-upload-'));
        const opened = sealed && (await openSealedRequest(req, sealed, sealedBodies!, lim.maxUploadBytes + 64 * 1024));
        const upload = await receiveUpload(
          req,
          dir,
          fileField,
          { maxBytes: lim.maxUploadBytes, idleTimeoutMs: lim.uploadIdleTimeoutMs, minBytesPerSecond: lim.uploadMinBytesPerSecond, paceGraceMs: lim.uploadPaceGraceMs },
          ticket,
          controller.signal,
          opened && { body: opened.body, contentType: sealed.contentType, failure: sealedFailure },
        );
        ticket.uploaded();
        const responseFormat = upload.fields.get(UPLOAD_FIELDS.responseFormat);
        if (responseFormat !== undefined && !isTranscriptFormat(responseFormat)) {
          throw HttpError.of('INVALID_RESPONSE_FORMAT');
        }
        const temperature = parseTemperature(upload.fields.get(UPLOAD_FIELDS.temperature));
        const granularities = parseGranularities(upload.fields.get(UPLOAD_FIELDS.timestampGranularities), responseFormat);
        const language = upload.fields.get(UPLOAD_FIELDS.language) || undefined;
        const prompt = upload.fields.get(UPLOAD_FIELDS.prompt) || undefined;
        checkLanguage(engine, language);
        // Said, not silently dropped: what this engine did not use of what was asked.
        const ignored = (engine.ignores ?? []).filter((field) => upload.fields.get(UPLOAD_FIELDS[field])?.trim());
        const headers: Record<string, string> = ignored.length > 0 ? { [IGNORED_FIELDS_HEADER]: ignored.join(', ') } : {};
        const job = { path: upload.path, filename: upload.filename, language, temperature, prompt, translate: task === 'translate', signal: controller.signal };
        const issue = (body: Buffer, format: TranscriptFormat) => receipts.issue(req.socket, { audioSha256: upload.sha256, audioBytes: upload.size, body, format, endpoint: url.pathname, requestTime, nonce });
        // A sealed request's answer is sealed whole: its transcript never goes out as clear events past the middlebox.
        if (!opened && url.pathname === ENDPOINTS.transcriptions && upload.fields.get(STREAM_FIELD) === STREAM_TRUE) {
          streaming = true;
          return await answerStream(res, { transcribe: (onSegment) => engine.transcribe({ ...job, onSegment }), receipt: (text) => issue(text, STREAM_RECEIPT_FORMAT), signal: controller.signal, headers });
        }
        const transcript = await engine.transcribe(job);
        if (controller.signal.aborted) throw controller.signal.reason;
        const answer = render(transcript, { fields: upload.fields, words: granularities.includes('word'), task });
        const body = Buffer.from(answer.body, 'utf8');
        const receipt = await issue(body, answer.format);
        // The receipt binds the plaintext answer; a sealed request gets it sealed under its own context.
        const out = opened ? await sealAnswer(opened.side, body, answer.contentType) : { headers: { 'content-type': answer.contentType }, body };
        if (controller.signal.aborted) throw controller.signal.reason;
        res.writeHead(200, { ...out.headers, 'content-length': out.body.length, 'cache-control': 'no-store', [RECEIPT_HEADER]: receipt, ...headers });
        res.end(out.body);
      } catch (err) {
        // An engine that stops because the signal aborted says only "cancelled": the signal knows why.
        const failure = asHttpError(controller.signal.aborted ? controller.signal.reason : err, lim.busyRetryAfterSeconds);
        if (streaming && failure instanceof HttpError && answerStreamFailure(res, failure)) return;
        throw failure;
      } finally {
        clearTimeout(timer);
        res.off('close', onClose);
        shutdown.removeEventListener('abort', onShutdown);
        // Before any await: the answer is out, and the client may send its next request on this connection at once.
        busyConnections.delete(req.socket);
        try {
          if (dir) await rm(dir, { recursive: true, force: true });
        } finally {
          ticket?.release();
        }
      }
    };

  return {
    whisperPredict: run(UPLOAD_FIELDS.audio, (t) => ({ format: 'text', contentType: TEXT, body: t.text })),
    openAiTranscriptions: run(UPLOAD_FIELDS.file, (t, request) => rendered(t, engine.model, request)),
    openAiTranslations: run(UPLOAD_FIELDS.file, (t, request) => rendered(t, engine.model, request), 'translate'),
    inFlight: () => admission.inFlight(),
  };
}

/** OpenAI's `temperature` (0 to 1); absent or empty: the engine's default. */
function parseTemperature(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const temperature = Number(value);
  if (!(temperature >= 0 && temperature <= 1)) throw HttpError.of('INVALID_TEMPERATURE');
  return temperature;
}

/**
 * OpenAI's `timestamp_granularities[]` (every value given, comma-separated by the upload): `word` and `segment`, with
 * `verbose_json` only (OpenAI's rule; the other formats have nowhere to put words). Absent: segments.
 */
function parseGranularities(value: string | undefined, format: string | undefined): TimestampGranularity[] {
  if (value === undefined || value.trim() === '') return ['segment'];
  const asked = value.split(',').map((v) => v.trim());
  if (format !== 'verbose_json' || !asked.every((v): v is TimestampGranularity => (TIMESTAMP_GRANULARITIES as readonly string[]).includes(v))) throw HttpError.of('INVALID_TIMESTAMP_GRANULARITY');
  return asked;
}

/**
 * Refuses a language the engine cannot transcribe: an English model fed French speech yields confident English
 * nonsense, worse than a clear refusal. No language asked: the engine's own (or detected) language.
 */
function checkLanguage(engine: TranscriptionEngine, language: string | undefined): void {
  // `auto` (OpenAI's and whisper.cpp's "detect") asks for no language in particular.
  if (language === undefined || language.toLowerCase() === 'auto' || engine.languages === undefined) return;
  if (engine.languages.includes(language.split('-')[0]!.toLowerCase())) return;
  throw HttpError.of('LANGUAGE_UNSUPPORTED', `This server's ${engine.name} engine transcribes ${engine.languages.join(', ')} only, not ${JSON.stringify(oneLine(language, 35))}; ask for ${engine.languages.join(' or ')}, or for no language.`);
}

/** `err` as the answer it deserves; busy answers carry `Retry-After`, which clients need to retry (core/transport/transcribe.ts). */
function asHttpError(err: unknown, retryAfterSeconds: number): unknown {
  if (err instanceof HttpError) return err;
  // A full filesystem (a temporary directory, the upload's file) is the server's lack of room, never an internal error.
  if (isStorageFull(err)) return insufficientStorage(retryAfterSeconds);
  if (err instanceof EngineError) {
    return HttpError.of(err.code, err.message, { retryAfterSeconds });
  }
  return err;
}

/** Transcribe, or translate into English (`/v1/audio/translations`). */
type Task = 'transcribe' | 'translate';

/** What an answer is rendered from besides the transcript: the fields (checked), and what they asked for. */
interface RenderRequest {
  readonly fields: ReadonlyMap<string, string>;
  /** `timestamp_granularities[]` included `word`. */
  readonly words: boolean;
  readonly task: Task;
}

/** One answer before it is sent: the body a receipt is signed over. */
interface Rendered {
  readonly format: TranscriptFormat;
  readonly contentType: string;
  readonly body: string;
}

const TEXT = 'text/plain; charset=utf-8';

function rendered(t: Transcript, model: string, request: RenderRequest): Rendered {
  // The field was checked before the engine ran.
  const format = (request.fields.get(UPLOAD_FIELDS.responseFormat) ?? DEFAULT_TRANSCRIPT_FORMAT) as TranscriptFormat;
  switch (format) {
    case 'text':
      return { format, contentType: TEXT, body: t.text };
    case 'srt':
      return { format, contentType: 'application/x-subrip; charset=utf-8', body: toSrt(t.segments) };
    case 'vtt':
      return { format, contentType: 'text/vtt; charset=utf-8', body: toVtt(t.segments) };
    case 'verbose_json': {
      const segments = t.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text }));
      // Words where the engine timed them (an empty list where it timed none: never invented from segments).
      const verbose: VerboseTranscript = { task: request.task, language: t.language, duration: t.duration, text: t.text, model, segments, ...(request.words ? { words: t.words ?? [] } : {}) };
      return { format, contentType: 'application/json', body: JSON.stringify(verbose) };
    }
    case 'json':
      return { format, contentType: 'application/json', body: JSON.stringify({ text: t.text }) };
  }
}
