/**
 * The attested local endpoint: an OpenAI-compatible HTTP server on loopback for tools that are not BlindBox (an
 * OpenAI SDK, another editor, an agent). Each request must carry the endpoint's bearer token; an upload is received
 * into a private temporary folder, then sent by the client core exactly as the CLI's `transcribe` sends a file (the
 * session's attested, pinned connections, its retries), and answered only with a transcript whose receipt the core
 * verified, with that receipt's header. A server that does not attest gets no audio: the caller gets the core's code.
 *
 * `stream=true` is relayed event by event (stream-relay.ts): `done` only after the receipt verified. Where the audio must
 * be sealed (TLS inspected) the core does not stream: the transcript is then fetched whole, sealed, and told as one delta.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileSource, type AudioSource } from '../audio-source.js';
import { ChannelError, InputError } from '../errors.js';
import { ENDPOINTS, UPLOAD_FIELDS } from '../../protocol/endpoints.js';
import { MAX_UPLOAD_BYTES } from '../../protocol/limits.js';
import { RECEIPT_HEADER } from '../../protocol/receipt.js';
import { STREAM_FIELD, STREAM_RECEIPT_FORMAT } from '../../protocol/stream.js';
import { DEFAULT_TRANSCRIPT_FORMAT, type TimestampGranularity, type TranscriptFormat } from '../../protocol/transcript.js';
import { failureAnswer, ignoredFieldsHeader, LocalRefusal, transcriptContentType, type JsonAnswer } from './answers.js';
import { bearerMatches } from './bearer.js';
import { httpOrigin, type ListenAddress } from './listen-address.js';
import { relayStream, type StreamEvents } from './stream-relay.js';
import { checkUploadHead, receiveUpload } from './upload.js';
import type { SessionSource } from './upstream.js';
import { attestedModel, modelList, verificationDocument } from './verification.js';
import { isSealedStreamRefusal, type TranscribeOptions, type TranscriptionTask, type TranscriptResult } from '../transport/transcribe.js';
import { decodedOrRaw } from '../../shared/text.js';

/** Header on every transcript the endpoint answers: its receipt was verified before the answer. */
export const RECEIPT_VERIFIED_HEADER = 'blindbox-receipt-verified';

export interface LocalEndpointOptions {
  readonly listen: ListenAddress;
  readonly token: string;
  readonly upstream: SessionSource;
  /** Largest audio accepted (default: what a server accepts, `MAX_UPLOAD_BYTES`). */
  readonly maxUploadBytes?: number;
  /** Uploads received or forwarded at once (default 8); more are answered 429 with `Retry-After`. */
  readonly maxInFlight?: number;
  /** One line per forwarded request and per failure (default: nowhere). */
  readonly log?: (line: string) => void;
}

export interface LocalEndpoint {
  /** `http://HOST:PORT/v1`: what an OpenAI SDK takes as its base URL. */
  readonly baseUrl: string;
  readonly port: number;
  /** Requests being received or forwarded now. */
  inFlight(): number;
  /** Stops listening, cancels what is in flight (its temporary files removed), and closes the session. */
  close(): Promise<void>;
}

/** What an upload path asks: the file's field, the format forced (`/whisper/predict` always answers text), the task. */
interface UploadPath {
  readonly field: string;
  readonly format?: TranscriptFormat;
  readonly task: TranscriptionTask;
}

const UPLOADS: Readonly<Record<string, UploadPath>> = {
  [ENDPOINTS.transcriptions]: { field: UPLOAD_FIELDS.file, task: 'transcribe' },
  [ENDPOINTS.translations]: { field: UPLOAD_FIELDS.file, task: 'translate' },
  [ENDPOINTS.whisperPredict]: { field: UPLOAD_FIELDS.audio, format: 'text', task: 'transcribe' },
};
const VERIFICATION_PATH = '/v1/verification';
const MODELS_PATH = '/v1/models';

/** Starts the endpoint on `options.listen`; the caller has already decided that address may be used. */
export async function startLocalEndpoint(options: LocalEndpointOptions): Promise<LocalEndpoint> {
  const maxUploadBytes = options.maxUploadBytes ?? MAX_UPLOAD_BYTES;
  const maxInFlight = options.maxInFlight ?? 8;
  const log = options.log ?? (() => undefined);
  const running = new Set<AbortController>();
  const { upstream } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = new URL(req.url ?? '/', 'http://local').pathname;
    if (!bearerMatches(req.headers.authorization, options.token)) throw new LocalRefusal('UNAUTHORIZED', 401);
    const upload = UPLOADS[pathname];
    if (upload) {
      if (req.method !== 'POST') throw new LocalRefusal('METHOD_NOT_ALLOWED', 405);
      return forward(req, res, upload);
    }
    const modelId = pathname.startsWith(`${MODELS_PATH}/`) ? decodedOrRaw(pathname.slice(MODELS_PATH.length + 1)) : undefined;
    if (pathname !== VERIFICATION_PATH && pathname !== MODELS_PATH && modelId === undefined) throw new LocalRefusal('NOT_FOUND', 404);
    if (req.method !== 'GET') throw new LocalRefusal('METHOD_NOT_ALLOWED', 405);
    let enclaves;
    try {
      enclaves = (await upstream.session()).enclaves;
    } catch (err) {
      if (pathname !== VERIFICATION_PATH) throw err;
      return sendJson(res, { ...failureAnswer(err), body: verificationDocument(upstream.server, upstream.policy, [], Date.now(), upstream.lastFailure) });
    }
    if (modelId !== undefined) return sendJson(res, { status: 200, headers: {}, body: attestedModel(enclaves, modelId) });
    sendJson(res, { status: 200, headers: {}, body: pathname === MODELS_PATH ? modelList(enclaves) : verificationDocument(upstream.server, upstream.policy, enclaves, Date.now()) });
  };

  /** Receives the upload, attests (or reuses the attested session), sends it, answers with the verified transcript. */
  const forward = async (req: IncomingMessage, res: ServerResponse, upload: UploadPath): Promise<void> => {
    checkUploadHead(req, maxUploadBytes);
    if (running.size >= maxInFlight) throw new LocalRefusal('BUSY', 429);
    // One signal for the caller going away: the upload stops, the server's request is cancelled, the files go.
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new ChannelError('CANCELLED', 'The caller went away.'));
    };
    res.once('close', onClose);
    running.add(controller);
    let dir: string | undefined;
    try {
      dir = await mkdtemp(path.join(tmpdir(), 'blindbox-endpoint-'));
      const received = await receiveUpload(req, dir, upload.field, maxUploadBytes, controller.signal);
      // The core refuses a format it does not know (INVALID_OPTION) before anything is sent.
      const format = upload.format ?? ((received.fields.get(UPLOAD_FIELDS.responseFormat) || DEFAULT_TRANSCRIPT_FORMAT) as TranscriptFormat);
      const source = await checkedSource(received.path, received.filename, maxUploadBytes);
      const session = await upstream.session();
      // A stream (OpenAI's `stream`, not on /whisper/predict) is relayed as it comes; the core refuses to stream a translation.
      if (!upload.format && /^true$/i.test(received.fields.get(STREAM_FIELD) ?? '')) {
        const asked = { ...askedOptions(received.fields), task: upload.task, signal: controller.signal };
        const relayed = await relayStream(res, (events) => session.transcribeStream(source, { ...asked, ...events }).catch((err: unknown) => wholeAsStream(err, () => session.transcribe(source, { ...asked, format: STREAM_RECEIPT_FORMAT }), events)));
        const ended = 'result' in relayed ? `${relayed.result.segments?.length} segments, receipt verified (enclave ${relayed.result.enclave.attestation.moduleId})` : `ended with the error event ${(relayed.failure as { code?: string }).code ?? 'INTERNAL_ERROR'}`;
        return log(`${req.method} ${oneLinePath(req.url)}: stream, ${ended}`);
      }
      const result = await session.transcribe(source, { ...askedOptions(received.fields), format, task: upload.task, signal: controller.signal });
      controller.signal.throwIfAborted();
      log(`${req.method} ${oneLinePath(req.url)}: ${result.format}, ${result.body.length} characters, receipt verified (enclave ${result.enclave.attestation.moduleId})`);
      res.writeHead(200, {
        'content-type': transcriptContentType(result.format),
        'cache-control': 'no-store',
        [RECEIPT_HEADER]: result.receipt.file.document,
        [RECEIPT_VERIFIED_HEADER]: 'true',
        ...ignoredFieldsHeader(result.ignoredFields),
      });
      res.end(result.body);
    } finally {
      res.off('close', onClose);
      running.delete(controller);
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      const answer = failureAnswer(err);
      if (answer.status >= 500 || answer.status === 400) log(`${req.method} ${oneLinePath(req.url)}: ${answer.status} ${(answer.body as { error: { code: string } }).error.code}`);
      sendJson(res, answer);
    });
  });
  // A transcript may take the engine minutes: the answer, not the request, is what takes long.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `${httpOrigin(options.listen.host, port)}/v1`,
    port,
    inFlight: () => running.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of running) c.abort(new ChannelError('CANCELLED', 'The local endpoint is stopping.'));
      server.closeIdleConnections();
      // Aborted requests answer (or end) at once; a connection still open after that is cut.
      const cut = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(cut);
      await upstream.close();
    },
  };
}

/**
 * The received file as the core's audio source, after the core's own checks (size, a format the server decodes), named
 * as the caller named it: in a refusal too, which would otherwise quote the private temporary path.
 */
async function checkedSource(file: string, name: string, maxBytes: number): Promise<AudioSource> {
  try {
    return { ...(await fileSource(file, maxBytes)), name };
  } catch (err) {
    if (err instanceof InputError) throw new InputError(err.code, err.message.replaceAll(JSON.stringify(file), JSON.stringify(name)));
    throw err;
  }
}

/**
 * Where the core refused to stream because the audio must be sealed (nothing was sent), the same request unstreamed:
 * its verified `text` transcript told as one delta. Its receipt is a stream's (format `text`, over the done text's
 * bytes), so the caller's events are those of a stream that had one segment. Any other failure is rethrown.
 */
async function wholeAsStream(err: unknown, transcribeWhole: () => Promise<TranscriptResult>, events: StreamEvents): Promise<TranscriptResult> {
  if (!isSealedStreamRefusal(err)) throw err;
  const whole = await transcribeWhole();
  events.onAccepted(whole.ignoredFields);
  events.onSegment({ index: 0, text: whole.body, delta: whole.body, start: 0, end: whole.duration ?? 0 });
  return whole;
}

/**
 * What the caller asked besides the audio and the format, as the core's options: everything the server reads is
 * forwarded (the core refuses a temperature outside 0 to 1, the server a granularity it does not know).
 */
function askedOptions(fields: ReadonlyMap<string, string>): Pick<TranscribeOptions, 'language' | 'prompt' | 'temperature' | 'timestampGranularities'> {
  const temperature = fields.get(UPLOAD_FIELDS.temperature)?.trim();
  const granularities = fields.get(UPLOAD_FIELDS.timestampGranularities)?.split(',').map((g) => g.trim());
  return {
    language: fields.get(UPLOAD_FIELDS.language) || undefined,
    prompt: fields.get(UPLOAD_FIELDS.prompt) || undefined,
    temperature: temperature ? Number(temperature) : undefined,
    timestampGranularities: granularities as TimestampGranularity[] | undefined,
  };
}


function sendJson(res: ServerResponse, answer: JsonAnswer): void {
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** The request path for a log line: bounded, without its query. */
function oneLinePath(url: string | undefined): string {
  return JSON.stringify((url ?? '').split('?')[0]!.slice(0, 100));
}
