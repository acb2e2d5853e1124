/**
 * The transcription endpoints. The upload is streamed by busboy into a
 * private temporary file (never held whole in memory), size-capped while it
 * arrives, handed to the engine, and deleted whatever happens. Every failure
 * is a JSON error with a fitting status; nothing a client sends yields a 500.
 *
 *   POST /whisper/predict            multipart `audio`            → text/plain (BlindBox's API)
 *   POST /v1/audio/transcriptions    multipart `file`, `model`, `language`, `response_format` (OpenAI)
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { toSrt, toVtt } from '../../core/transcript/subtitles.js';
import { EngineError, type EngineErrorKind, type Transcript, type TranscriptionEngine } from '../engine/engine.js';
import { HttpError } from './respond.js';
import type { Handler } from '../app.js';

export interface TranscriptionLimits {
  /** Largest upload accepted (default 200 MB). */
  readonly maxUploadBytes: number;
  /** Requests admitted at once (uploading, queued or decoding); more are refused with 503 before their upload is read. */
  readonly maxInFlight: number;
  /** Whole-request deadline, upload included (default 30 min). */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: TranscriptionLimits = { maxUploadBytes: 200 * 1024 * 1024, maxInFlight: 8, requestTimeoutMs: 30 * 60_000 };

const RESPONSE_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt'] as const;
type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

const STATUS: Record<EngineErrorKind, number> = {
  UNREADABLE_AUDIO: 400,
  EMPTY_AUDIO: 400,
  TOO_LONG: 413,
  UNSUPPORTED_FORMAT: 415,
  BUSY: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  CANCELLED: 499,
};

/** An upload on disk and the text fields that came with it. */
interface Upload {
  readonly path: string;
  readonly filename: string;
  readonly size: number;
  readonly fields: ReadonlyMap<string, string>;
}

/** Builds both handlers over one engine, sharing admission control. */
export function transcriptionHandlers(engine: TranscriptionEngine, limits: Partial<TranscriptionLimits> = {}): { whisperPredict: Handler; openAiTranscriptions: Handler; inFlight: () => number } {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  let inFlight = 0;

  const run = (fileField: string, respond: (res: ServerResponse, transcript: Transcript, fields: ReadonlyMap<string, string>) => void): Handler =>
    async (req, res) => {
      if (inFlight >= lim.maxInFlight) {
        throw new HttpError(503, 'SERVER_BUSY', 'The server is transcribing as much as it can; try again shortly.', { 'retry-after': '5' });
      }
      inFlight++;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new EngineError('TIMEOUT', 'The transcription took longer than the server allows.')), lim.requestTimeoutMs);
      // A client that goes away frees its slot: the queued job is dropped, the result of a running one discarded.
      const onClose = () => {
        if (!res.writableFinished) controller.abort(new EngineError('CANCELLED', 'The client went away.'));
      };
      res.once('close', onClose);
      let dir: string | undefined;
      try {
        dir = await mkdtemp(path.join(tmpdir(), 'blindbox-upload-'));
        const upload = await receiveUpload(req, dir, fileField, lim.maxUploadBytes, controller.signal);
        const responseFormat = upload.fields.get('response_format');
        if (responseFormat !== undefined && !(RESPONSE_FORMATS as readonly string[]).includes(responseFormat)) {
          throw new HttpError(400, 'INVALID_RESPONSE_FORMAT', `response_format must be one of ${RESPONSE_FORMATS.join(', ')}.`);
        }
        const transcript = await engine.transcribe({ path: upload.path, filename: upload.filename, language: upload.fields.get('language'), signal: controller.signal });
        respond(res, transcript, upload.fields);
      } catch (err) {
        throw asHttpError(err);
      } finally {
        clearTimeout(timer);
        res.off('close', onClose);
        inFlight--;
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    };

  return {
    whisperPredict: run('audio', (res, t) => send(res, 'text/plain; charset=utf-8', t.text)),
    openAiTranscriptions: run('file', (res, t, fields) => sendFormatted(res, t, (fields.get('response_format') ?? 'json') as ResponseFormat, engine.model)),
    inFlight: () => inFlight,
  };
}

/** Streams the multipart body: the one file field to disk, small text fields to memory. */
async function receiveUpload(req: IncomingMessage, dir: string, fileField: string, maxBytes: number, signal: AbortSignal): Promise<Upload> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send the audio as multipart/form-data with the file in the field "${fileField}".`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + 64 * 1024) throw tooLarge(maxBytes);

  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 8, fieldSize: 1024, parts: 10 } });
  } catch {
    throw new HttpError(400, 'MALFORMED_MULTIPART', 'The multipart request has no valid boundary.');
  }

  return new Promise<Upload>((resolve, reject) => {
    const fields = new Map<string, string>();
    let file: Promise<{ filename: string; size: number }> | undefined;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume(); // drain what is still coming so the error answer can be read
      reject(err);
    };
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new HttpError(400, 'FIELD_TOO_LONG', `The field "${name}" is too long.`));
      fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (name !== fileField || file) {
        stream.resume();
        return fail(new HttpError(400, 'UNEXPECTED_FILE', `Unexpected file field "${name}": send exactly one file, in the field "${fileField}".`));
      }
      let size = 0;
      let truncated = false;
      stream.on('data', (chunk: Buffer) => (size += chunk.length));
      stream.on('limit', () => {
        truncated = true;
        fail(tooLarge(maxBytes));
      });
      file = pipeline(stream, createWriteStream(path.join(dir, 'audio'), { flags: 'wx', mode: 0o600 })).then(() => {
        if (truncated) throw tooLarge(maxBytes);
        return { filename: info.filename ?? 'audio', size };
      });
      file.catch(fail);
    });
    parser.on('filesLimit', () => fail(new HttpError(400, 'UNEXPECTED_FILE', `Send exactly one file, in the field "${fileField}".`)));
    parser.on('partsLimit', () => fail(new HttpError(400, 'MALFORMED_MULTIPART', 'The request has too many parts.')));
    parser.on('fieldsLimit', () => fail(new HttpError(400, 'MALFORMED_MULTIPART', 'The request has too many fields.')));
    parser.on('error', () => fail(new HttpError(400, 'MALFORMED_MULTIPART', 'The multipart body is malformed or was cut short.')));
    req.on('aborted', () => fail(new EngineError('CANCELLED', 'The client went away during the upload.')));
    parser.on('close', () => {
      if (failed) return;
      if (!file) return fail(new HttpError(400, 'MISSING_FILE', `No file in the field "${fileField}".`));
      file.then(({ filename, size }) => {
        if (size === 0) return fail(new HttpError(400, 'EMPTY_FILE', 'The uploaded file is empty.'));
        if (!failed) resolve({ path: path.join(dir, 'audio'), filename, size, fields });
      }, fail);
    });
    req.pipe(parser);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'FILE_TOO_LARGE', `The upload is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB this server accepts.`);
}

function asHttpError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineError) {
    return new HttpError(STATUS[err.kind], err.kind, err.message, err.kind === 'BUSY' ? { 'retry-after': '5' } : {});
  }
  return err;
}

function send(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function sendFormatted(res: ServerResponse, t: Transcript, format: ResponseFormat, model: string): void {
  switch (format) {
    case 'text':
      return send(res, 'text/plain; charset=utf-8', t.text);
    case 'srt':
      return send(res, 'application/x-subrip; charset=utf-8', toSrt(t.segments));
    case 'vtt':
      return send(res, 'text/vtt; charset=utf-8', toVtt(t.segments));
    case 'verbose_json':
      return send(
        res,
        'application/json',
        JSON.stringify({ task: 'transcribe', language: t.language, duration: t.duration, text: t.text, model, segments: t.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text })) }),
      );
    case 'json':
      return send(res, 'application/json', JSON.stringify({ text: t.text }));
  }
}
