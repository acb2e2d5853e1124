/**
 * The `pocketsphinx` engine: offline US English recognition with CMU PocketSphinx, one decoder per worker thread.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { probeAudio } from '../audio/probe.js';
import { tooLong } from '../audio/pcm16k.js';
import type { TranscribeRequest, Transcript, TranscriptionEngine } from '../engine.js';
import { transcriptOf } from '../segments.js';
import { WorkerPool, type PoolStats } from '../worker-pool.js';
import { DEFAULT_MODEL_DIR, MODEL_NAME } from './addon.js';
import type { Job, JobResult, WorkerSetup } from './protocol.js';

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
  /** Called as a job starts on a worker (diagnostics; tests use it to stop a worker mid-job). */
  readonly onJobStart?: (worker: Worker) => void;
}

export interface PocketSphinxEngine extends TranscriptionEngine {
  /** Workers alive, jobs running and waiting. */
  stats(): PoolStats;
}

export const DEFAULT_MAX_SECONDS = 2 * 60 * 60;

/** Starts the workers (each loads the model, about a second) and resolves once all are ready. */
export async function createPocketSphinxEngine(options: PocketSphinxOptions = {}): Promise<PocketSphinxEngine> {
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const setup: WorkerSetup = { modelDir: options.modelDir ?? DEFAULT_MODEL_DIR, utterance: options.utterance ?? { minSeconds: 10, maxSeconds: 30 } };
  const pool = await WorkerPool.start<Job, JobResult>({
    script: new URL('./worker.js', import.meta.url),
    workerData: setup,
    size: options.workers ?? Math.min(2, availableParallelism()),
    maxQueue: options.maxQueue ?? 8,
    onJobStart: options.onJobStart,
  });
  return {
    name: 'pocketsphinx',
    model: MODEL_NAME,
    async transcribe(request: TranscribeRequest): Promise<Transcript> {
      // The format (and a WAV's length) is checked here, so that a bad file never waits in the queue.
      const probe = await probeAudio(request.path, request.signal);
      if (probe.seconds !== undefined && probe.seconds > maxSeconds) throw tooLong(maxSeconds);
      const { words, duration } = await pool.run({ path: request.path, codec: probe.codec, maxSeconds }, request.signal);
      return transcriptOf(words, duration, 'en');
    },
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}
