/**
 * The `pocketsphinx` engine: offline US English recognition with CMU PocketSphinx, one decoder per worker thread.
 * A long file is decoded on all of them: a first job decodes it once, cuts it into pieces at pauses as it goes and
 * hands each out as soon as it is cut (`WorkerPool.runSplit`), or recognises it itself when `piecesPerRequest` already
 * wait for a worker; the pieces' words, timed from the start of the recording, are joined in order into one
 * transcript, segmented as if one worker had heard it all.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { probeAudio } from '../audio/probe.js';
import { tooLong } from '../audio/pcm16k.js';
import type { TranscribeRequest, Transcript, TranscriptionEngine } from '../engine.js';
import type { Segment } from '../../../protocol/transcript.js';
import { InOrder } from '../in-order.js';
import { SegmentBuilder, transcriptOf, transcriptOfSegments, type Word } from '../segments.js';
import { WorkerPool, type PoolStats, type SplitListener } from '../worker-pool.js';
import { DEFAULT_MODEL_DIR, MODEL_NAME } from './addon.js';
import { sampleBuffers, type Job, type JobResult, type SplitResult, type WordsResult, type WorkerSetup } from './protocol.js';

export interface PocketSphinxOptions {
  /** Worker threads, one decoder (~135 MB) each. Default: 2, or 1 on a single core. */
  readonly workers?: number;
  /** Jobs that may wait for a worker before more are refused with `BUSY`. Default 8. */
  readonly maxQueue?: number;
  /** Longest audio accepted, in seconds. Default 2 hours. */
  readonly maxSeconds?: number;
  /** Model directory (`en-us/`, `en-us.lm.bin`, `cmudict-en-us.dict`). Default: Debian's. */
  readonly modelDir?: string;
  /** How long recordings are cut into utterances (seconds). Default: at the quietest point after 10 s, by 30 s. */
  readonly utterance?: WorkerSetup['utterance'];
  /**
   * Audio at least this long (seconds) is split at pauses and decoded on all workers at once. Default 120 s: below
   * that, one worker takes under half a minute and the seams are not worth it. With one worker nothing is split.
   */
  readonly splitSeconds?: number;
  /** The length (seconds) a split file's pieces aim at; each one ends at the first pause past it. Default 60 s. */
  readonly pieceSeconds?: number;
  /**
   * Split requests at once (default 1); a long request that arrives while this many are split is decoded as it streams
   * on one worker. Splitting more than one request at a time would not finish them sooner: every worker is busy either way.
   */
  readonly maxSplitting?: number;
  /**
   * Pieces of one split request that may wait for a worker at once (default 1, Infinity for no bound; each about
   * `pieceSeconds` of 16 kHz audio, 1.9 MB for a minute). At most `maxSplitting` × this many wait in all; a first
   * pass with none left to hand out recognises its next piece itself, which holds back its decoder.
   */
  readonly piecesPerRequest?: number;
  /**
   * Seconds of audio a worker goes through, in one job or several, before it gives the memory its jobs freed back to
   * the system (a full garbage collection and `malloc_trim`, 20–90 ms) as its job ends. Default: `pieceSeconds`.
   */
  readonly releaseSeconds?: number;
  /** Called as a job starts on a worker (diagnostics; tests use it to stop a worker mid-job). */
  readonly onJobStart?: (worker: Worker) => void;
}

export interface PocketSphinxStats extends PoolStats {
  /** Split requests being decoded or recognised (at most `maxSplitting`). */
  readonly splitting: number;
  /** Times a worker gave its freed memory back to the system as a job it answered ended (see `releaseSeconds`). */
  readonly memoryReleases: number;
}

export interface PocketSphinxEngine extends TranscriptionEngine {
  /** Workers alive, jobs running and waiting, split requests. */
  stats(): PocketSphinxStats;
}

/** A piece job's words (it answers nothing else). */
function wordsOf(result: JobResult): WordsResult['words'] {
  if (result.kind !== 'words') throw new Error('a piece job answered as a split file');
  return result.words;
}

/** The words of a split request, in order: its first pass's own pieces and the others' (none overlap in time). */
function joinParts(first: SplitResult, pieces: readonly { job: Job; result: JobResult }[]): Word[] {
  const handedOut = pieces.map(({ job, result }) => ({ start: job.kind === 'piece' ? job.utterances[0]!.start : 0, words: wordsOf(result) }));
  return [...first.parts, ...handedOut].sort((a, b) => a.start - b.start).flatMap((part) => part.words);
}

function wordsTranscript(result: JobResult): Transcript {
  if (result.kind !== 'words') throw new Error('an unsplit file job answered as a split one');
  return transcriptOf(result.words, result.duration, 'en');
}

/**
 * A streamed request's words, put in the order of the audio as they come (the first pass's utterances as it recognises
 * them, each handed-out piece in its place once it is done) and told as segments as soon as each is closed.
 */
function segmentStream(onSegment: (segment: Segment) => void) {
  const builder = new SegmentBuilder();
  const heard: Word[] = [];
  const order = new InOrder<readonly Word[]>((words) => {
    heard.push(...words);
    for (const word of words) {
      const closed = builder.push(word);
      if (closed) onSegment(closed);
    }
  });
  const pieces = new Map<number, ReturnType<typeof order.reserve>>();
  // A piece's words come utterance by utterance as its worker recognises them; its result only closes its place.
  const listener: SplitListener<Job, JobResult, Word[]> = {
    progress: (words) => order.add(words),
    piece: (index) => pieces.set(index, order.reserve()),
    pieceProgress: (index, words) => pieces.get(index)?.push(words),
    pieceDone: (index) => pieces.get(index)?.end(),
  };
  return {
    listener,
    /** The transcript told, its last segment told now that the audio's `duration` is known. */
    end(duration: number): Transcript {
      const last = builder.end(duration);
      if (last) onSegment(last);
      return transcriptOfSegments(builder.segments, duration, 'en', heard);
    },
  };
}

export const DEFAULT_MAX_SECONDS = 2 * 60 * 60;
export const DEFAULT_SPLIT_SECONDS = 120;
/** Long enough that a piece costs far more than its messages, short enough that a request arriving meanwhile waits
 * about 10 s for a worker (at a real-time factor near 0.17) and that the last piece leaves the other workers idle little. */
export const DEFAULT_PIECE_SECONDS = 60;
/**
 * Each worker's young generation (MB). V8 grows it to 32 MB under a first pass's stream of short-lived blocks and keeps
 * those pages resident, empty, after a full collection; 4 MB cut what stays after 8 one-hour files from +23 to +9 MB
 * with the same wall time: the samples themselves live outside the V8 heap.
 */
const YOUNG_GENERATION_MB = 4;

/** Starts the workers (each loads the model, about a second) and resolves once all are ready. */
export async function createPocketSphinxEngine(options: PocketSphinxOptions = {}): Promise<PocketSphinxEngine> {
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const size = options.workers ?? Math.min(2, availableParallelism());
  const splitSeconds = options.splitSeconds ?? DEFAULT_SPLIT_SECONDS;
  const pieceSeconds = options.pieceSeconds ?? DEFAULT_PIECE_SECONDS;
  if (!(splitSeconds > 0 && pieceSeconds > 0)) throw new RangeError('splitSeconds and pieceSeconds must be positive');
  const setup: WorkerSetup = {
    modelDir: options.modelDir ?? DEFAULT_MODEL_DIR,
    utterance: options.utterance ?? { minSeconds: 10, maxSeconds: 30 },
    releaseSeconds: options.releaseSeconds ?? pieceSeconds,
  };
  const pool = await WorkerPool.start<Job, JobResult>({
    script: new URL('./worker.js', import.meta.url),
    workerData: setup,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    transfer: (job) => (job.kind === 'piece' ? sampleBuffers(job.utterances) : []),
    size,
    maxQueue: options.maxQueue ?? 8,
    onJobStart: options.onJobStart,
  });
  const maxSplitting = options.maxSplitting ?? 1;
  const handOut = options.piecesPerRequest ?? 1;
  if (!(handOut >= 0)) throw new RangeError('piecesPerRequest must not be negative');
  let splitting = 0;
  let memoryReleases = 0;
  const count = (results: readonly JobResult[]) => (memoryReleases += results.filter((r) => r.released).length);
  // Only a file whose header says it is short skips the split pass; an MP3 or Ogg file's length is known once decoded.
  const split = (seconds: number | undefined) =>
    size > 1 && splitting < maxSplitting && (seconds === undefined || seconds >= splitSeconds) ? { minSeconds: splitSeconds, pieceSeconds, handOut } : undefined;
  return {
    name: 'pocketsphinx',
    model: MODEL_NAME,
    // Its acoustic model and dictionary are US English.
    languages: ['en'],
    // A decoder, not a sampler, and a fixed language model: no temperature, no prompt.
    ignores: ['prompt', 'temperature'],
    async transcribe(request: TranscribeRequest): Promise<Transcript> {
      // The format (and a WAV's length) is checked here, so that a bad file never waits in the queue.
      const probe = await probeAudio(request.path, request.signal);
      if (probe.seconds !== undefined && probe.seconds > maxSeconds) throw tooLong(maxSeconds);
      const splits = split(probe.seconds);
      if (splits) splitting++; // from the queue on: what is counted is what may come to be held
      try {
        const stream = request.onSegment && segmentStream(request.onSegment);
        const job = { kind: 'file', path: request.path, codec: probe.codec, maxSeconds, split: splits, progress: stream !== undefined } as const;
        if (!splits) {
          const result = await pool.run(job, request.signal, stream?.listener.progress);
          count([result]);
          return stream ? stream.end(result.duration) : wordsTranscript(result);
        }
        const { result: first, pieces } = await pool.runSplit(job, request.signal, stream?.listener);
        count([first, ...pieces.map((piece) => piece.result)]);
        if (stream) return stream.end(first.duration);
        if (first.kind === 'words') return wordsTranscript(first);
        return transcriptOf(joinParts(first, pieces), first.duration, 'en');
      } finally {
        if (splits) splitting--;
      }
    },
    stats: () => ({ ...pool.stats(), splitting, memoryReleases }),
    close: () => pool.close(),
  };
}
