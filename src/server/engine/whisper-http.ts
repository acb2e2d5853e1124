/**
 * The `whisper-http` engine: forwards the upload to an OpenAI-compatible transcription server (whisper.cpp's server in
 * production, inside the same enclave) and maps its `verbose_json` answer to a transcript. The file is streamed from
 * disk into the multipart body, never read whole.
 */
import { openAsBlob } from 'node:fs';
import { Readable } from 'node:stream';
import { FormDataEncoder } from 'form-data-encoder';
import { Agent, request as httpRequest } from 'undici';
import { ENDPOINTS, UPLOAD_FIELDS } from '../../protocol/endpoints.js';
import type { Segment, TranscriptFormat } from '../../protocol/transcript.js';
import { cancelled, EngineError, type TranscribeRequest, type Transcript, type TranscriptionEngine } from './engine.js';
import { languageTag } from './language-tag.js';

export interface WhisperHttpOptions {
  /** The server's base URL; requests go to `<upstream>/v1/audio/transcriptions`. */
  readonly upstream: URL;
  /** Sent as the `model` field and attested as the engine's model. Default `whisper-1`. */
  readonly model?: string;
  /** Longest a transcription may take, upload to answer (ms). */
  readonly timeoutMs: number;
  /** Largest answer read from the server. Default 16 MiB. */
  readonly maxResponseBytes?: number;
}

/** The part of OpenAI's `verbose_json` the transcript needs (whisper.cpp's server sends the same fields). */
interface VerboseJson {
  readonly text?: unknown;
  readonly language?: unknown;
  readonly duration?: unknown;
  readonly segments?: unknown;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Maps an upstream HTTP status: the client's audio is at fault only for 400/415/422; a busy server is `BUSY`. */
function statusError(status: number, detail: string): EngineError {
  const says = detail ? `: ${detail}` : '';
  if (status === 400 || status === 422) return new EngineError('UNREADABLE_AUDIO', `The transcription server could not read the audio${says}`);
  if (status === 415) return new EngineError('UNSUPPORTED_FORMAT', `The transcription server does not take this format${says}`);
  if (status === 429) return new EngineError('BUSY', `The transcription server is busy${says}`);
  if (status === 408 || status === 504) return new EngineError('TIMEOUT', `The transcription server timed out${says}`);
  return new EngineError('UNAVAILABLE', `The transcription server answered ${status}${says}`);
}

/** The message in an OpenAI (`{error:{message}}`) or whisper.cpp (`{error}`) error body, shortened. */
function upstreamMessage(body: string): string {
  let message = body;
  try {
    const json = JSON.parse(body) as { error?: unknown };
    message = typeof json.error === 'string' ? json.error : String((json.error as { message?: unknown })?.message ?? body);
  } catch {
    // not JSON: the body itself
  }
  return message.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** Checks and maps a `verbose_json` body: segments in order, non-overlapping, within [0, duration]. */
export function transcriptFromVerboseJson(body: VerboseJson, requestedLanguage?: string): Transcript {
  if (typeof body !== 'object' || body === null || (body.text !== undefined && typeof body.text !== 'string') || (body.segments !== undefined && !Array.isArray(body.segments))) {
    throw new EngineError('UNAVAILABLE', 'The transcription server answered with something other than verbose_json.');
  }
  const raw = ((body.segments as unknown[] | undefined) ?? []).filter(
    (s): s is { start: number; end: number; text: string } => typeof s === 'object' && s !== null && finite((s as Segment).start) && finite((s as Segment).end) && typeof (s as Segment).text === 'string',
  );
  raw.sort((a, b) => a.start - b.start);
  const duration = finite(body.duration) && body.duration >= 0 ? body.duration : Math.max(0, ...raw.map((s) => s.end));
  const segments: Segment[] = [];
  for (const s of raw) {
    const text = s.text.trim();
    const start = Math.min(Math.max(s.start, segments.at(-1)?.end ?? 0), duration);
    if (text) segments.push({ start, end: Math.min(Math.max(s.end, start), duration), text });
  }
  const text = typeof body.text === 'string' ? body.text.trim() : segments.map((s) => s.text).join(' ');
  const language = typeof body.language === 'string' && body.language ? languageTag(body.language) : (requestedLanguage ?? 'und');
  return { text, segments, duration, language };
}

async function readCapped(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new EngineError('UNAVAILABLE', `The transcription server's answer is larger than ${max} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Creates the engine; nothing is sent until the first transcription. */
export function createWhisperHttpEngine(options: WhisperHttpOptions): TranscriptionEngine {
  const model = options.model ?? 'whisper-1';
  const base = options.upstream.href.endsWith('/') ? options.upstream.href : `${options.upstream.href}/`;
  // The upstream speaks the same OpenAI-compatible contract; its path is relative so that a prefix in `upstream` stays.
  const endpoint = new URL(ENDPOINTS.transcriptions.slice(1), base);
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  // The whole transcription is bounded by timeoutMs; undici's own per-phase timeouts must not cut it shorter.
  const agent = new Agent({ headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connectTimeout: Math.min(options.timeoutMs, 10_000) });
  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  async function transcribe(request: TranscribeRequest): Promise<Transcript> {
    const file = await openAsBlob(request.path);
    if (file.size === 0) throw new EngineError('EMPTY_AUDIO', 'The file is empty.');
    const form = new FormData();
    form.append(UPLOAD_FIELDS.file, file, request.filename || 'audio');
    form.append(UPLOAD_FIELDS.model, model);
    form.append(UPLOAD_FIELDS.responseFormat, 'verbose_json' satisfies TranscriptFormat);
    if (request.language) form.append(UPLOAD_FIELDS.language, request.language);
    const encoder = new FormDataEncoder(form);

    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    try {
      const response = await httpRequest(endpoint, { method: 'POST', dispatcher: agent, headers: encoder.headers, body: Readable.from(encoder.encode()), signal });
      const text = await readCapped(response.body, maxResponseBytes);
      if (response.statusCode >= 400) throw statusError(response.statusCode, upstreamMessage(text));
      if (response.statusCode !== 200) throw new EngineError('UNAVAILABLE', `The transcription server answered ${response.statusCode}.`);
      let json: VerboseJson;
      try {
        json = JSON.parse(text) as VerboseJson;
      } catch (err) {
        throw new EngineError('UNAVAILABLE', 'The transcription server answered with something other than JSON.', { cause: err });
      }
      return transcriptFromVerboseJson(json, request.language);
    } catch (err) {
      if (err instanceof EngineError) throw err;
      if (request.signal?.aborted) throw cancelled(err);
      const code = (err as { code?: unknown })?.code;
      if (timeout.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new EngineError('TIMEOUT', `The transcription server did not answer within ${options.timeoutMs} ms.`, { cause: err });
      }
      throw new EngineError('UNAVAILABLE', `The transcription server at ${endpoint.origin} is unreachable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  return {
    name: 'whisper-http',
    model,
    transcribe(request) {
      if (closing) return Promise.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
      if (request.signal?.aborted) return Promise.reject(cancelled());
      const job = transcribe(request);
      running.add(job);
      void job.catch(() => {}).finally(() => running.delete(job));
      return job;
    },
    close() {
      closing ??= Promise.allSettled([...running]).then(() => agent.close());
      return closing;
    },
  };
}
