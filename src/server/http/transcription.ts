/**
 * The transcription endpoints. The upload is streamed to a private temporary file (`upload.ts`), handed to the
 * engine, and deleted whatever happens. Every failure is a JSON error with a fitting status; nothing a client sends
 * yields a 500, and every request gives back its slot, its directory and its files on every path: success, error,
 * client gone, deadline, shutdown. Every answer carries a transcript receipt signed over its exact body (receipt.ts),
 * and is never sent without one.
 *
 *   POST /whisper/predict            multipart `audio`            → text/plain (BlindBox's API)
 *   POST /v1/audio/transcriptions    multipart `file`, `model`, `language`, `response_format` (OpenAI)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UPLOAD_FIELDS } from '../../protocol/endpoints.js';
import { MAX_UPLOAD_BYTES } from '../../protocol/limits.js';
import { DEFAULT_TRANSCRIPT_FORMAT, isTranscriptFormat, type TranscriptFormat, type VerboseTranscript } from '../../protocol/transcript.js';
import { EngineError, type Transcript, type TranscriptionEngine } from '../engine/engine.js';
import { toSrt, toVtt } from './subtitles.js';
import { HttpError } from './respond.js';
import { oneLine } from '../../shared/text.js';
import { receiptNonce, type ReceiptIssuer } from './receipt.js';
import { RECEIPT_HEADER, RECEIPT_NONCE_HEADER } from '../../protocol/receipt.js';
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
): { whisperPredict: Handler; openAiTranscriptions: Handler; inFlight: () => number } {
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

  const run = (fileField: string, render: (transcript: Transcript, fields: ReadonlyMap<string, string>) => Rendered): Handler =>
    async (req, res, url, shutdown, source) => {
      const requestTime = Date.now();
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
        const language = upload.fields.get(UPLOAD_FIELDS.language) || undefined;
        checkLanguage(engine, language);
        const transcript = await engine.transcribe({ path: upload.path, filename: upload.filename, language, temperature, signal: controller.signal });
        if (controller.signal.aborted) throw controller.signal.reason;
        const answer = render(transcript, upload.fields);
        const body = Buffer.from(answer.body, 'utf8');
        const receipt = await receipts.issue(req.socket, { audioSha256: upload.sha256, audioBytes: upload.size, body, format: answer.format, endpoint: url.pathname, requestTime, nonce });
        // The receipt binds the plaintext answer; a sealed request gets it sealed under its own context.
        const out = opened ? await sealAnswer(opened.side, body, answer.contentType) : { headers: { 'content-type': answer.contentType }, body };
        if (controller.signal.aborted) throw controller.signal.reason;
        res.writeHead(200, { ...out.headers, 'content-length': out.body.length, 'cache-control': 'no-store', [RECEIPT_HEADER]: receipt });
        res.end(out.body);
      } catch (err) {
        // An engine that stops because the signal aborted says only "cancelled": the signal knows why.
        throw asHttpError(controller.signal.aborted ? controller.signal.reason : err, lim.busyRetryAfterSeconds);
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
    // The field was checked before the engine ran.
    openAiTranscriptions: run(UPLOAD_FIELDS.file, (t, fields) => rendered(t, (fields.get(UPLOAD_FIELDS.responseFormat) ?? DEFAULT_TRANSCRIPT_FORMAT) as TranscriptFormat, engine.model)),
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

/** One answer before it is sent: the body a receipt is signed over. */
interface Rendered {
  readonly format: TranscriptFormat;
  readonly contentType: string;
  readonly body: string;
}

const TEXT = 'text/plain; charset=utf-8';

function rendered(t: Transcript, format: TranscriptFormat, model: string): Rendered {
  switch (format) {
    case 'text':
      return { format, contentType: TEXT, body: t.text };
    case 'srt':
      return { format, contentType: 'application/x-subrip; charset=utf-8', body: toSrt(t.segments) };
    case 'vtt':
      return { format, contentType: 'text/vtt; charset=utf-8', body: toVtt(t.segments) };
    case 'verbose_json': {
      const verbose: VerboseTranscript = { task: 'transcribe', language: t.language, duration: t.duration, text: t.text, model, segments: t.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text })) };
      return { format, contentType: 'application/json', body: JSON.stringify(verbose) };
    }
    case 'json':
      return { format, contentType: 'application/json', body: JSON.stringify({ text: t.text }) };
  }
}
