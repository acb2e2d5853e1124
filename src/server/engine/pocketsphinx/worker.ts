/**
 * A PocketSphinx worker thread: loads the model once, then runs one job at a time: decode the file, convert it to
 * 16 kHz s16, cut it into utterances and recognise each. Between decoded blocks and between utterances it lets
 * messages in, so a cancelled job stops at the next step (PocketSphinx cannot be interrupted inside one); the pool
 * replaces a worker that does not stop soon enough.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { pcm16k, SPEECH_RATE } from '../audio/pcm16k.js';
import { Resampler } from '../audio/resample.js';
import { cancelled, EngineError } from '../engine.js';
import type { Word } from '../segments.js';
import type { PoolMessage, WorkerMessage } from '../worker-pool.js';
import { loadDecoder } from './addon.js';
import type { Job, JobResult, WorkerSetup } from './protocol.js';
import { UtteranceSplitter, type Utterance } from './utterances.js';
import { timedWords } from './words.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const decoder = loadDecoder(setup.modelDir);
const resampler = await Resampler.create(SPEECH_RATE);
let current: { readonly id: number; cancelled: boolean } | undefined;

async function transcribe(job: Job, state: { cancelled: boolean }): Promise<JobResult> {
  // Each job hears the decoder as it was loaded, never adapted to the previous job's (another user's) audio.
  decoder.reset();
  const words: Word[] = [];
  const splitter = new UtteranceSplitter({ rate: SPEECH_RATE, ...setup.utterance });
  const stopIfCancelled = async () => {
    await nextTurn(); // lets a cancel message in
    if (state.cancelled) throw cancelled();
  };
  const recognise = async (utterance: Utterance) => {
    await stopIfCancelled();
    words.push(...timedWords(decoder.decode(utterance.pcm).segments, utterance.start / SPEECH_RATE));
  };
  let duration = 0;
  for await (const block of pcm16k(job.path, job.codec, resampler, job.maxSeconds)) {
    await stopIfCancelled();
    duration = block.inputSeconds;
    for (const utterance of splitter.push(block.pcm)) await recognise(utterance);
  }
  const last = splitter.end();
  if (last) await recognise(last);
  if (duration === 0) throw new EngineError('EMPTY_AUDIO', 'The audio decodes to no samples.');
  return { words, duration };
}

port.on('message', (message: PoolMessage<Job>) => {
  if (message.type === 'cancel') {
    if (current?.id === message.id) current.cancelled = true;
    return;
  }
  const state = (current = { id: message.id, cancelled: false });
  transcribe(message.job, state)
    .then(
      (result): WorkerMessage<JobResult> => ({ type: 'result', id: state.id, result }),
      (err: unknown): WorkerMessage<JobResult> =>
        err instanceof EngineError ? { type: 'error', id: state.id, code: err.code, message: err.message } : { type: 'error', id: state.id, message: String((err as Error)?.stack ?? err) },
    )
    .then((answer) => {
      current = undefined;
      port.postMessage(answer);
    });
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage<JobResult>);
