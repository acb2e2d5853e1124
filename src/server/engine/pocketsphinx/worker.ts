/**
 * A PocketSphinx worker thread: loads the model once, then runs one job at a time. A file job decodes the file,
 * converts it to 16 kHz s16, cuts it into utterances and recognises each, or, when asked to split a long file, groups
 * them into pieces as they come and hands pieces out to other workers while it may (`PieceSink`); a piece job
 * recognises one such piece. Between decoded blocks and between
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
import { loadDecoder, trimMemory } from './addon.js';
import { fullCollection, MemoryReleaser } from './memory-release.js';
import { PieceCutter } from '../split/pieces.js';
import { sampleBuffers, type FileJob, type Job, type JobResult, type PartWords, type WorkerSetup } from './protocol.js';
import { UtteranceSplitter, type Utterance } from '../split/utterances.js';
import { timedWords } from './words.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const decoder = loadDecoder(setup.modelDir);
const resampler = await Resampler.create(SPEECH_RATE);
const collect = fullCollection();
const releaser = new MemoryReleaser(setup.releaseSeconds, () => {
  collect(); // what the jobs left becomes free memory...
  trimMemory(); // ...which glibc then hands back
});
let current: JobState | undefined;

interface JobState {
  readonly id: number;
  cancelled: boolean;
  /** Pieces this job may still hand out (see `FileJob`). */
  credits: number;
  /** Seconds of audio the job has gone through. */
  heard: number;
}

/** Recognises utterances in order, stopping at the next one once the job is cancelled. */
class Recogniser {
  readonly #state: { readonly cancelled: boolean };
  readonly #report: ((words: Word[]) => void) | undefined;

  /** `report` gets each utterance's words as soon as they are recognised (a streamed answer's progress). */
  constructor(state: { readonly cancelled: boolean }, report?: (words: Word[]) => void) {
    this.#state = state;
    this.#report = report;
    // Each job hears the decoder as it was loaded, never adapted to the previous job's (another user's) audio.
    decoder.reset();
  }

  async stopIfCancelled(): Promise<void> {
    await nextTurn(); // lets a cancel (or credit) message in
    if (this.#state.cancelled) throw cancelled();
  }

  async recognise(utterances: readonly Utterance[]): Promise<Word[]> {
    const words: Word[] = [];
    for (const utterance of utterances) {
      await this.stopIfCancelled();
      decoder.reset();
      const heard = timedWords(decoder.decode(utterance.pcm).segments, utterance.start / SPEECH_RATE);
      this.#report?.(heard);
      words.push(...heard);
    }
    return words;
  }
}

/**
 * Where a split job's pieces go as they are cut. Until the audio reaches `minSeconds` they wait here (at most that
 * much audio); then each goes to another worker while the job has credit, or is recognised here, which holds back
 * the decoder meanwhile: this worker holds at most one piece and the utterance being cut, whatever the file's length.
 */
class PieceSink {
  readonly parts: PartWords[] = [];
  /** In order: pieces to hand out, and utterances to recognise here (`here`, a piece's overflow). */
  #waiting: { readonly utterances: Utterance[]; readonly here: boolean }[] | undefined = [];
  readonly #split: NonNullable<FileJob['split']> & { readonly progress?: boolean };
  readonly #state: JobState;
  readonly #recogniser: Recogniser;

  constructor(split: NonNullable<FileJob['split']> & { readonly progress?: boolean }, state: JobState, recogniser: Recogniser) {
    this.#split = split;
    this.#state = state;
    this.#recogniser = recogniser;
  }

  /** Whether pieces have gone out (or may): the audio is long enough to split. */
  get splitting(): boolean {
    return this.#waiting === undefined;
  }

  /** A piece closed (`here`: utterances that must stay with this worker), at `seconds` into the audio. */
  async take(utterances: Utterance[], here: boolean, seconds: number): Promise<void> {
    if (this.#waiting) this.#waiting.push({ utterances, here });
    else await this.#give(utterances, here);
    await this.heard(seconds);
  }

  /** The audio decoded so far: once it reaches `minSeconds`, the pieces that waited for it are given out. */
  async heard(seconds: number): Promise<void> {
    if (!this.#waiting || seconds < this.#split.minSeconds) return;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    for (const { utterances, here } of waiting) await this.#give(utterances, here);
  }

  /** The pieces held at the end of a file too short to split. */
  held(): Utterance[] {
    return this.#waiting?.flatMap((w) => w.utterances) ?? [];
  }

  async #give(piece: Utterance[], here: boolean): Promise<void> {
    if (!here && this.#state.credits > 0) {
      this.#state.credits--;
      port.postMessage({ type: 'piece', id: this.#state.id, job: { kind: 'piece', utterances: piece, progress: this.#split.progress } } satisfies WorkerMessage<JobResult, Job>, sampleBuffers(piece));
    } else {
      this.parts.push({ start: piece[0]!.start, words: await this.#recogniser.recognise(piece) });
    }
  }
}

async function transcribeFile(job: FileJob, state: JobState, recogniser: Recogniser): Promise<JobResult> {
  const splitter = new UtteranceSplitter({ rate: SPEECH_RATE, ...setup.utterance });
  const cutter = job.split && new PieceCutter({ rate: SPEECH_RATE, pieceSeconds: job.split.pieceSeconds });
  const sink = job.split && new PieceSink({ ...job.split, progress: job.progress }, state, recogniser);
  const words: Word[] = [];
  let duration = 0;
  const take = async (utterance: Utterance) => {
    if (!cutter || !sink) return void words.push(...(await recogniser.recognise([utterance])));
    const piece = cutter.push(utterance);
    if (piece) await sink.take(piece, false, duration);
    const overflow = cutter.overflow();
    if (overflow.length > 0) await sink.take(overflow, true, duration);
  };
  for await (const block of pcm16k(job.path, job.codec, resampler, job.maxSeconds)) {
    await recogniser.stopIfCancelled();
    duration = state.heard = block.inputSeconds;
    for (const utterance of splitter.push(block.pcm)) await take(utterance);
    await sink?.heard(duration);
  }
  const last = splitter.end();
  if (last) await take(last);
  if (duration === 0) throw new EngineError('EMPTY_AUDIO', 'The audio decodes to no samples.');
  const lastPiece = cutter?.end() ?? [];
  if (!sink?.splitting) return { kind: 'words', words: [...words, ...(await recogniser.recognise([...(sink?.held() ?? []), ...lastPiece]))], duration };
  // The last piece is recognised here: this worker is about to be free, and a message would only add a copy.
  if (lastPiece.length > 0) sink.parts.push({ start: lastPiece[0]!.start, words: await recogniser.recognise(lastPiece) });
  return { kind: 'split', parts: sink.parts, duration };
}

async function run(job: Job, state: JobState): Promise<JobResult> {
  const report = job.progress ? (words: Word[]) => port.postMessage({ type: 'progress', id: state.id, progress: words } satisfies WorkerMessage<JobResult, Job, Word[]>) : undefined;
  const recogniser = new Recogniser(state, report);
  if (job.kind === 'file') return transcribeFile(job, state, recogniser);
  state.heard = job.utterances.reduce((n, u) => n + u.pcm.length, 0) / SPEECH_RATE;
  return { kind: 'words', words: await recogniser.recognise(job.utterances), duration: state.heard };
}

port.on('message', (message: PoolMessage<Job>) => {
  if (message.type === 'cancel' || message.type === 'credit') {
    if (current?.id !== message.id) return;
    if (message.type === 'cancel') current.cancelled = true;
    else current.credits++;
    return;
  }
  const job = message.job;
  const state = (current = { id: message.id, cancelled: false, credits: job.kind === 'file' ? (job.split?.handOut ?? 0) : 0, heard: 0 });
  run(job, state)
    .then(
      (result): WorkerMessage<JobResult> => ({ type: 'result', id: state.id, result }),
      (err: unknown): WorkerMessage<JobResult> =>
        err instanceof EngineError ? { type: 'error', id: state.id, code: err.code, message: err.message } : { type: 'error', id: state.id, message: String((err as Error)?.stack ?? err) },
    )
    .then((answer) => {
      current = undefined;
      // Before the answer goes out: the worker is about to wait anyway, and its caller then sees the memory given back.
      const released = releaser.jobEnded(state.heard);
      port.postMessage(answer.type === 'result' ? { ...answer, result: { ...answer.result, released } } : answer);
    });
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage<JobResult>);
