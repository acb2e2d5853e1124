/**
 * The Whisper engine: whisper.cpp servers (children the server supervises, or one external `--upstream`) behind the
 * server's own decoding. An upload is decoded here (WAV, FLAC, MP3, Ogg Vorbis, Opus) to 16 kHz mono, cut at pauses
 * into pieces as it decodes (the splitter PocketSphinx uses), and each piece goes to a server as a plain WAV as soon
 * as one is free, fairly between requests (`FairPool`). The pieces' transcripts are joined, timed from the start of
 * the recording. A failing piece fails the request and stops its other pieces.
 */
import { probeAudio } from '../audio/probe.js';
import { pcm16k, SPEECH_RATE, tooLong } from '../audio/pcm16k.js';
import { Resampler } from '../audio/resample.js';
import { cancelled, EngineError, type TranscribeRequest, type Transcript, type TranscriptionEngine } from '../engine.js';
import { PieceCutter } from '../split/pieces.js';
import { UtteranceSplitter, type Utterance } from '../split/utterances.js';
import { InOrder } from '../in-order.js';
import { joinPieces, PieceJoiner, pieceTranscript, type TimedPiece } from './answer.js';
import { UnreachableError, Upstream, type PieceParameters } from './client.js';
import { DETECT, whisperLanguage } from './languages.js';
import { FairPool, type FairPoolStats, type Lane } from './pool.js';

/** The model the servers run, as attested and as it decides the languages taken. */
export interface WhisperModel {
  /** E.g. `ggml-base.en.bin`: sent as the `model` field and attested. */
  readonly name: string;
  /** The model file, when this server knows it (measured into PCR16 by the caller). */
  readonly file?: string;
  /** Its SHA-256 (hex), attested with its name. */
  readonly sha256?: string;
  /** A `*.en` model: other languages are refused with `LANGUAGE_UNSUPPORTED` before any audio is sent. */
  readonly englishOnly: boolean;
}

export interface WhisperEngineOptions {
  /** whisper.cpp servers' base URLs; requests go to `<upstream>/v1/audio/transcriptions`, one at a time on each. */
  readonly upstreams: readonly URL[];
  /** Default: an unnamed multilingual model (`whisper-1`). */
  readonly model?: WhisperModel;
  /** Attested engine name. Default `whisper`; `whisper-http` for an external server. */
  readonly name?: string;
  /** Longest one upstream request (one piece) may take (ms). */
  readonly timeoutMs: number;
  /** Audio at least this long (seconds) is split at pauses into pieces. Default 120 s. */
  readonly splitSeconds?: number;
  /** The length (seconds) a piece aims at; each ends at the first pause past it. Default 30 s. */
  readonly pieceSeconds?: number;
  /** Transcriptions that may wait while every server is busy; one more is refused with `BUSY`. Default 8. */
  readonly maxQueue?: number;
  /** Longest audio accepted (seconds). Default 2 hours. */
  readonly maxSeconds?: number;
  /** Largest answer read from a server. Default 16 MiB. */
  readonly maxResponseBytes?: number;
}

export interface WhisperEngine extends TranscriptionEngine {
  /** Servers busy, transcriptions open, pieces waiting. */
  stats(): FairPoolStats;
}

export const DEFAULT_SPLIT_SECONDS = 120;
/** Whisper hears 30 s windows: a piece of about one window costs no extra pass, and bounds how long a newcomer waits. */
export const DEFAULT_PIECE_SECONDS = 30;
const DEFAULT_MAX_SECONDS = 2 * 60 * 60;
/** How a recording is cut into utterances, where pieces may end: at the quietest point after 10 s, by 30 s. */
const UTTERANCE = { minSeconds: 10, maxSeconds: 30 };
/** Pieces of one request that may wait for a server: enough to keep every server fed, few enough to bound memory. */
const PIECES_AHEAD = 2;

type PieceLane = Lane<Upstream, TimedPiece>;

/** Resamplers (a WebAssembly instance each) kept for reuse: one per transcription decoding at once. */
class Resamplers {
  readonly #free: Resampler[] = [];

  async use<T>(run: (resampler: Resampler) => Promise<T>): Promise<T> {
    const resampler = this.#free.pop() ?? (await Resampler.create(SPEECH_RATE));
    try {
      return await run(resampler);
    } finally {
      this.#free.push(resampler);
    }
  }
}

/** Creates the engine; nothing is sent until the first transcription. */
export function createWhisperEngine(options: WhisperEngineOptions): WhisperEngine {
  const model = options.model ?? { name: 'whisper-1', englishOnly: false };
  const splitSeconds = options.splitSeconds ?? DEFAULT_SPLIT_SECONDS;
  const pieceSeconds = options.pieceSeconds ?? DEFAULT_PIECE_SECONDS;
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  if (!(splitSeconds > 0 && pieceSeconds > 0)) throw new RangeError('splitSeconds and pieceSeconds must be positive');
  const upstreams = options.upstreams.map((url) => new Upstream(url, { timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes }));
  const pool = new FairPool<Upstream, TimedPiece>(upstreams, { maxLanes: upstreams.length + (options.maxQueue ?? 8), unreachable: (err) => err instanceof UnreachableError });
  const resamplers = new Resamplers();
  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  /** Sends one piece (consecutive utterances) on `lane`, with the request's parameters. */
  const send = (lane: PieceLane, piece: readonly Utterance[], parameters: PieceParameters): Promise<TimedPiece> => {
    const pcm = piece.map((u) => u.pcm);
    const seconds = pcm.reduce((n, p) => n + p.length, 0) / SPEECH_RATE;
    const start = piece[0]!.start / SPEECH_RATE;
    return lane.submit(async (upstream, signal) => ({ start, transcript: pieceTranscript(await upstream.transcribe(pcm, parameters, signal), seconds) }));
  };

  async function transcribe(request: TranscribeRequest): Promise<Transcript> {
    // Refused before the file is even read: no audio reaches a server in a language it cannot transcribe.
    const language = whisperLanguage(request.language, model.englishOnly);
    const probe = await probeAudio(request.path, request.signal);
    if (probe.seconds !== undefined && probe.seconds > maxSeconds) throw tooLong(maxSeconds);
    const lane: PieceLane = pool.open(request.signal);
    const pieces: Promise<TimedPiece>[] = [];
    // A streamed request is told each piece's segments once every piece before it is in (pieces are cut in order).
    const onSegment = request.onSegment;
    const joiner = onSegment && new PieceJoiner();
    const order = joiner && new InOrder<TimedPiece>((piece) => joiner.push(piece).forEach((segment) => onSegment(segment)));
    const submit = (piece: readonly Utterance[]) => {
      const sent = send(lane, piece, { model: model.name, language, temperature: request.temperature, prompt: request.prompt, translate: request.translate });
      sent.catch((err: unknown) => lane.stop(err)); // a failing piece stops the others
      const place = order?.reserve();
      if (place) void sent.then((done) => (place.push(done), place.end()), () => {});
      pieces.push(sent);
    };
    try {
      const duration = await resamplers.use((resampler) => splitAndSubmit(request, probe, resampler, lane, submit));
      const done = await Promise.all(pieces);
      const fallback = language === DETECT ? 'und' : language;
      return joiner ? joiner.end(duration, fallback) : joinPieces(done, duration, fallback);
    } catch (err) {
      // The first reason wins: the client gone, or the piece that failed first (the others were stopped for it).
      const reason: unknown = lane.signal.aborted ? lane.signal.reason : err;
      lane.stop(reason);
      throw reason;
    } finally {
      lane.stop(cancelled());
    }
  }

  /**
   * Decodes the file, cuts it at pauses and submits each piece as it is cut, never holding more than `PIECES_AHEAD`
   * pieces waiting; returns the audio's duration. Audio shorter than `splitSeconds` goes as one piece.
   */
  async function splitAndSubmit(request: TranscribeRequest, probe: Awaited<ReturnType<typeof probeAudio>>, resampler: Resampler, lane: PieceLane, submit: (piece: readonly Utterance[]) => void): Promise<number> {
    const splitter = new UtteranceSplitter({ rate: SPEECH_RATE, ...UTTERANCE });
    const cutter = new PieceCutter({ rate: SPEECH_RATE, pieceSeconds });
    // Until the audio is known to be long enough to split (by its header, else as it decodes), its pieces wait here: at
    // most `splitSeconds` of audio, whatever a header claims.
    let held: Utterance[][] | undefined = probe.seconds !== undefined && probe.seconds >= splitSeconds ? undefined : [];
    let duration = 0;
    const give = (piece: Utterance[]) => (held ? held.push(piece) : submit(piece));
    const take = (utterance: Utterance) => {
      const piece = cutter.push(utterance);
      if (piece) give(piece);
      const overflow = cutter.overflow();
      if (overflow.length > 0) give(overflow);
    };
    for await (const block of pcm16k(request.path, probe.codec, resampler, maxSeconds)) {
      if (lane.signal.aborted) throw lane.signal.reason;
      duration = block.inputSeconds;
      for (const utterance of splitter.push(block.pcm)) take(utterance);
      if (held && duration >= splitSeconds) {
        held.forEach((piece) => submit(piece));
        held = undefined;
      }
      await lane.room(PIECES_AHEAD);
    }
    const last = splitter.end();
    if (last) take(last);
    if (duration === 0) throw new EngineError('EMPTY_AUDIO', 'The audio decodes to no samples.');
    const rest = cutter.end();
    if (rest) give(rest);
    // Short audio: one piece, whatever was cut.
    if (held && held.length > 0) submit(held.flat());
    return duration;
  }

  return {
    name: options.name ?? 'whisper',
    model: model.sha256 ? `${model.name} (sha256 ${model.sha256})` : model.name,
    // An English-only model is refused other languages before the upload is decoded, as PocketSphinx is; a multilingual
    // one takes any language Whisper knows, which `whisperLanguage` checks.
    ...(model.englishOnly ? { languages: ['en'] } : {}),
    // whisper.cpp translates into English (an English-only model has nothing to translate from: it refuses other languages).
    translates: true,
    transcribe(request) {
      if (closing) return Promise.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
      if (request.signal?.aborted) return Promise.reject(cancelled());
      const job = transcribe(request);
      running.add(job);
      void job.catch(() => {}).finally(() => running.delete(job));
      return job;
    },
    stats: () => pool.stats(),
    close() {
      closing ??= Promise.allSettled([...running]).then(() => Promise.all(upstreams.map((u) => u.close()))).then(() => {});
      return closing;
    },
  };
}
