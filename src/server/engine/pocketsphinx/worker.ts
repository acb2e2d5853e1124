/**
 * A PocketSphinx worker thread: loads the model once, then runs one job at a time. A file job decodes the file,
 * converts it to 16 kHz s16, cuts it into utterances and recognises each, or, when asked to split a long file, hands
 * its utterances back grouped into pieces; a piece job recognises one such piece. Between decoded blocks and between
 * utterances it lets messages in, so a cancelled job stops at the next step (PocketSphinx cannot be interrupted inside
 * one); the pool replaces a worker that does not stop soon enough.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { pcm16k, SPEECH_RATE } from '../audio/pcm16k.js';
import { Resampler } from '../audio/resample.js';
import { cancelled, EngineError } from '../engine.js';
import type { Word } from '../segments.js';
import type { PoolMessage, WorkerMessage } from '../worker-pool.js';
import { loadDecoder } from './addon.js';
import { groupIntoPieces } from './pieces.js';
import { sampleBuffers, type FileJob, type Job, type JobResult, type WorkerSetup } from './protocol.js';
import { UtteranceSplitter, type Utterance } from './utterances.js';
import { timedWords } from './words.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const decoder = loadDecoder(setup.modelDir);
const resampler = await Resampler.create(SPEECH_RATE);
let current: { readonly id: number; cancelled: boolean } | undefined;

/** Recognises one job's utterances in order, stopping at the next one once the job is cancelled. */
class Recogniser {
  readonly words: Word[] = [];
  readonly #state: { readonly cancelled: boolean };

  constructor(state: { readonly cancelled: boolean }) {
    this.#state = state;
    // Each job hears the decoder as it was loaded, never adapted to the previous job's (another user's) audio.
    decoder.reset();
  }

  async stopIfCancelled(): Promise<void> {
    await nextTurn(); // lets a cancel message in
    if (this.#state.cancelled) throw cancelled();
  }

  async recognise(utterance: Utterance): Promise<void> {
    await this.stopIfCancelled();
    decoder.reset();
    this.words.push(...timedWords(decoder.decode(utterance.pcm).segments, utterance.start / SPEECH_RATE));
  }
}

async function transcribeFile(job: FileJob, recogniser: Recogniser): Promise<JobResult> {
  const splitter = new UtteranceSplitter({ rate: SPEECH_RATE, ...setup.utterance });
  // With `split`, the utterances are held (the whole recording, 2 bytes per sample) until its length is known.
  const held: Utterance[] | undefined = job.split ? [] : undefined;
  const take = async (utterance: Utterance) => {
    if (held) held.push(utterance);
    else await recogniser.recognise(utterance);
  };
  let duration = 0;
  for await (const block of pcm16k(job.path, job.codec, resampler, job.maxSeconds)) {
    await recogniser.stopIfCancelled();
    duration = block.inputSeconds;
    for (const utterance of splitter.push(block.pcm)) await take(utterance);
  }
  const last = splitter.end();
  if (last) await take(last);
  if (duration === 0) throw new EngineError('EMPTY_AUDIO', 'The audio decodes to no samples.');
  if (job.split && held && duration >= job.split.minSeconds) {
    const pieces = groupIntoPieces(held, { rate: SPEECH_RATE, pieceSeconds: job.split.pieceSeconds });
    if (pieces.length > 1) return { kind: 'pieces', pieces, duration };
  }
  for (const utterance of held ?? []) await recogniser.recognise(utterance);
  return { kind: 'words', words: recogniser.words, duration };
}

async function run(job: Job, state: { readonly cancelled: boolean }): Promise<JobResult> {
  const recogniser = new Recogniser(state);
  if (job.kind === 'file') return transcribeFile(job, recogniser);
  for (const utterance of job.utterances) await recogniser.recognise(utterance);
  const samples = job.utterances.reduce((n, u) => n + u.pcm.length, 0);
  return { kind: 'words', words: recogniser.words, duration: samples / SPEECH_RATE };
}

port.on('message', (message: PoolMessage<Job>) => {
  if (message.type === 'cancel') {
    if (current?.id === message.id) current.cancelled = true;
    return;
  }
  const state = (current = { id: message.id, cancelled: false });
  run(message.job, state)
    .then(
      (result): WorkerMessage<JobResult> => ({ type: 'result', id: state.id, result }),
      (err: unknown): WorkerMessage<JobResult> =>
        err instanceof EngineError ? { type: 'error', id: state.id, code: err.code, message: err.message } : { type: 'error', id: state.id, message: String((err as Error)?.stack ?? err) },
    )
    .then((answer) => {
      current = undefined;
      port.postMessage(answer, answer.type === 'result' && answer.result.kind === 'pieces' ? answer.result.pieces.flatMap(sampleBuffers) : []);
    });
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage<JobResult>);
