/**
 * One request to a whisper.cpp server (or any OpenAI-compatible one): a piece of audio as a 16 kHz mono 16-bit WAV,
 * which every whisper.cpp build reads whatever the client uploaded, with the parameters whisper.cpp ≥ 1.8.5 takes per
 * request. Its answer's body is returned; an HTTP error, a dropped connection or a timeout becomes an `EngineError`.
 */
import { Readable } from 'node:stream';
import { FormDataEncoder, type FileLike, type FormDataEntryValue, type FormDataLike } from 'form-data-encoder';
import { Agent, request as httpRequest } from 'undici';
import { ENDPOINTS, UPLOAD_FIELDS } from '../../../protocol/endpoints.js';
import type { TranscriptFormat } from '../../../protocol/transcript.js';
import { SPEECH_RATE } from '../audio/pcm16k.js';
import { cancelled, EngineError } from '../engine.js';
import { upstreamMessage } from './answer.js';

/** What one request sends besides the audio. */
export interface PieceParameters {
  /** The `model` field (whisper.cpp ignores it; an OpenAI-compatible server may not). */
  readonly model: string;
  /** A Whisper language code, or `auto`. */
  readonly language: string;
  readonly temperature?: number;
  /** whisper.cpp's `prompt`: text the decoder is conditioned on. */
  readonly prompt?: string;
  /** whisper.cpp's `translate`: English out, whatever the language in. */
  readonly translate?: boolean;
}

export interface UpstreamOptions {
  /** Longest one request may take, upload to answer (ms). */
  readonly timeoutMs: number;
  /** Largest answer read. Default 16 MiB. */
  readonly maxResponseBytes?: number;
}

/** The 44-byte header of a canonical PCM WAV holding `samples` 16-bit mono samples at 16 kHz. */
export function wavHeader(samples: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples * 2, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SPEECH_RATE, 24);
  header.writeUInt32LE(SPEECH_RATE * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples * 2, 40);
  return header;
}

/** `pcm`'s bytes, little-endian as every platform Node runs on stores them. */
const bytesOf = (pcm: Int16Array) => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

/**
 * A piece as a WAV file part, read from its samples as it is sent. Not a `Blob`: a Blob copies the piece outside the
 * JavaScript heap, where the collector does not see the copies of a long file's pieces pile up.
 */
class WavFile implements FileLike {
  readonly name = 'audio.wav';
  readonly type = 'audio/wav';
  readonly lastModified = 0;
  readonly size: number;
  readonly [Symbol.toStringTag] = 'File';
  readonly #parts: readonly Uint8Array[];

  constructor(pcm: readonly Int16Array[]) {
    const samples = pcm.reduce((n, p) => n + p.length, 0);
    this.#parts = [wavHeader(samples), ...pcm.map(bytesOf)];
    this.size = 44 + 2 * samples;
  }

  async *stream(): AsyncGenerator<Uint8Array> {
    yield* this.#parts;
  }
}

/** The fields of one request, in order, as the encoder reads a form (`FormData` would take only a `Blob`). */
function formOf(fields: readonly (readonly [string, FormDataEntryValue])[]): FormDataLike {
  const entries = () => fields.map(([name, value]): [string, FormDataEntryValue] => [name, value])[Symbol.iterator]();
  return {
    [Symbol.toStringTag]: 'FormData',
    append: () => {
      throw new TypeError('read-only form');
    },
    getAll: (name) => fields.filter(([n]) => n === name).map(([, value]) => value),
    entries,
    [Symbol.iterator]: entries,
  };
}

/** `UNAVAILABLE`: the server was never reached, so nothing was sent; another server may take the piece. */
export class UnreachableError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** One whisper.cpp server: where it answers and the connections to it. */
export class Upstream {
  readonly endpoint: URL;
  readonly #agent: Agent;
  readonly #options: UpstreamOptions;

  constructor(base: URL, options: UpstreamOptions) {
    // Relative, so that a path prefix in `base` stays.
    this.endpoint = new URL(ENDPOINTS.transcriptions.slice(1), base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.#options = options;
    // Each request is bounded by timeoutMs; undici's own per-phase timeouts must not cut it shorter.
    this.#agent = new Agent({ headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connectTimeout: Math.min(options.timeoutMs, 10_000) });
  }

  /** Sends `pcm` (consecutive 16 kHz samples) and returns the 200 answer's body. */
  async transcribe(pcm: readonly Int16Array[], parameters: PieceParameters, signal: AbortSignal): Promise<string> {
    const fields: [string, FormDataEntryValue][] = [
      [UPLOAD_FIELDS.file, new WavFile(pcm)],
      [UPLOAD_FIELDS.model, parameters.model],
      [UPLOAD_FIELDS.responseFormat, 'verbose_json' satisfies TranscriptFormat],
      [UPLOAD_FIELDS.language, parameters.language],
    ];
    if (parameters.temperature !== undefined) fields.push(['temperature', String(parameters.temperature)]);
    if (parameters.prompt !== undefined) fields.push([UPLOAD_FIELDS.prompt, parameters.prompt]);
    if (parameters.translate) fields.push(['translate', 'true']);
    const encoder = new FormDataEncoder(formOf(fields));
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    try {
      const response = await httpRequest(this.endpoint, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: encoder.headers,
        body: Readable.from(encoder.encode()),
        signal: AbortSignal.any([signal, timeout]),
      });
      const text = await readCapped(response.body, this.#options.maxResponseBytes ?? 16 * 1024 * 1024);
      if (response.statusCode !== 200) throw statusError(response.statusCode, upstreamMessage(text));
      return text;
    } catch (err) {
      if (err instanceof EngineError) throw err;
      if (signal.aborted) throw cancelled(err);
      throw this.#transportError(err, timeout.aborted);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  #transportError(err: unknown, timedOut: boolean): EngineError {
    const code = (err as { code?: unknown })?.code;
    const says = (err as Error)?.message ?? String(err);
    if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new EngineError('TIMEOUT', `The transcription server did not answer within ${this.#options.timeoutMs} ms.`, { cause: err });
    }
    // Never connected: the server is down. Connected, then cut: it broke while transcribing (crashed, or was killed).
    if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND' || code === 'ENOENT') {
      return new UnreachableError(`The transcription server at ${this.endpoint.origin} is unreachable: ${says}`, { cause: err });
    }
    return new EngineError('ENGINE_FAILED', `The transcription server at ${this.endpoint.origin} dropped the request: ${says}`, { cause: err });
  }
}

/**
 * Maps a status other than 200. The audio was decoded here and sent as a plain WAV, so a 4xx is the server's failure,
 * not the client's; a busy server is `BUSY`, a down one `UNAVAILABLE`.
 */
function statusError(status: number, detail: string): EngineError {
  const says = detail ? `: ${detail}` : '';
  if (status === 429) return new EngineError('BUSY', `The transcription server is busy${says}`);
  if (status === 408 || status === 504) return new EngineError('TIMEOUT', `The transcription server timed out${says}`);
  if (status === 503) return new EngineError('UNAVAILABLE', `The transcription server is unavailable${says}`);
  return new EngineError('ENGINE_FAILED', `The transcription server answered ${status}${says}`);
}

async function readCapped(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new EngineError('ENGINE_FAILED', `The transcription server's answer is larger than ${max} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
