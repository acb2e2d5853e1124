/**
 * One long file decoded on all workers: where it is cut (only in pauses, never inside a sentence, even where the
 * utterance splitter had to cut inside one), what comes back (the same words and times as one worker gives, in every
 * response format), and what happens when the request is cancelled or a piece fails (every worker freed, no piece left
 * to run). Real flite speech, real workers; small utterance and piece lengths keep the recording to ~25 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { pcm16k, SPEECH_RATE } from '../../../src/server/engine/audio/pcm16k.js';
import { Resampler } from '../../../src/server/engine/audio/resample.js';
import { EngineError, type EngineErrorCode, type Transcript } from '../../../src/server/engine/engine.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { groupIntoPieces, isQuietBoundary, PieceCutter, speechLevel } from '../../../src/server/engine/split/pieces.js';
import { UtteranceSplitter, type Utterance } from '../../../src/server/engine/split/utterances.js';
import { toSrt, toVtt } from '../../../src/protocol/subtitles.js';
import { scratchDir, spokenRecording, SPEECH_HZ, wordErrorRate, words, type SpokenRecording } from '../../../support/speech.js';

const WER_BOUND = 0.25;
const UTTERANCE = { minSeconds: 2, maxSeconds: 6 };
const PIECE_SECONDS = 6;
const isCode = (code: EngineErrorCode) => (err: unknown) => err instanceof EngineError && err.code === code;

/** The second line runs ~7 s without a pause: the utterance splitter (at most 6 s) must cut inside it. */
const LINES = [
  { voice: 'slt', text: 'Please send the report to the manager before the end of the week.' },
  { voice: 'rms', text: 'The train to the city leaves early in the morning from the main station and the children played in the park until the sun went down.' },
  { voice: 'slt', text: 'She opened the window and listened to the birds singing in the garden.' },
  { voice: 'rms', text: 'He forgot his keys at home and had to wait outside for an hour.' },
  { voice: 'slt', text: 'The children played in the park until the sun went down.' },
] as const;

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let recording: SpokenRecording;
/** One sentence: under `splitSeconds` by its header, so never split. */
let sentence: SpokenRecording;

before(async () => {
  scratch = await scratchDir();
  recording = await spokenRecording(scratch.dir, 'long', LINES, 0.7);
  sentence = await spokenRecording(scratch.dir, 'short', [LINES[0]], 0.3);
});
after(() => scratch?.dispose());

/** The recording's utterances, cut exactly as a worker cuts them. */
async function utterancesOf(file: string): Promise<Utterance[]> {
  const splitter = new UtteranceSplitter({ rate: SPEECH_RATE, ...UTTERANCE });
  const out: Utterance[] = [];
  for await (const block of pcm16k(file, 'wav', await Resampler.create(SPEECH_RATE), Infinity)) out.push(...splitter.push(block.pcm));
  const last = splitter.end();
  if (last) out.push(last);
  return out;
}

const insideSpeech = (sample: number) => recording.spans.some((s) => sample > s.start && sample < s.end);

describe('cutting a long recording into pieces', () => {
  it('cuts only in the pauses between sentences, never where the utterance splitter cut inside one', async () => {
    const utterances = await utterancesOf(recording.path);
    const forced = utterances.slice(1).filter((u) => insideSpeech(u.start));
    assert.ok(forced.length > 0, 'the recording should make the splitter cut inside a sentence');
    const level = speechLevel(utterances, SPEECH_RATE);
    for (const [i, u] of utterances.entries()) {
      if (i > 0 && insideSpeech(u.start)) assert.ok(!isQuietBoundary(utterances[i - 1]!, u, level, SPEECH_RATE), `the cut at ${u.start / SPEECH_HZ} s inside speech was judged quiet`);
    }
    const pieces = groupIntoPieces(utterances, { rate: SPEECH_RATE, pieceSeconds: PIECE_SECONDS });
    assert.ok(pieces.length >= 3, `only ${pieces.length} pieces`);
    assert.deepEqual(pieces.flat(), utterances, 'every utterance in one piece, in order');
    for (const piece of pieces.slice(1)) assert.ok(!insideSpeech(piece[0]!.start), `a seam at ${piece[0]!.start / SPEECH_HZ} s is inside a sentence`);
  });

  it('does not cut at all where nothing is quiet', () => {
    let seed = 1;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 20_000;
    const utterances = Array.from({ length: 5 }, (_, i) => ({ start: i * 4 * SPEECH_RATE, pcm: Int16Array.from({ length: 4 * SPEECH_RATE }, noise) }));
    assert.equal(groupIntoPieces(utterances, { rate: SPEECH_RATE, pieceSeconds: 4 }).length, 1);
  });

  it('holds no more than three pieces of audio with no pause: the rest overflows, in order, to be recognised where it is cut', () => {
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 20_000;
    const utterances = Array.from({ length: 30 }, (_, i) => ({ start: i * 4 * SPEECH_RATE, pcm: Int16Array.from({ length: 4 * SPEECH_RATE }, noise) }));
    const cutter = new PieceCutter({ rate: SPEECH_RATE, pieceSeconds: 4 });
    const out: Utterance[] = [];
    let held = 0;
    for (const u of utterances) {
      assert.equal(cutter.push(u), undefined, 'a piece was cut where nothing is quiet');
      held++;
      const overflow = cutter.overflow();
      held -= overflow.length;
      out.push(...overflow);
      assert.ok(held <= 4, `${held} utterances of 4 s held for pieces of 4 s`);
    }
    out.push(...(cutter.end() ?? []));
    assert.deepEqual(out, utterances);
  });
});

describe('a long file on two workers', () => {
  let one: PocketSphinxEngine;
  let two: PocketSphinxEngine;
  /** Workers of `two` that started a job, one entry per job start. */
  const started: Worker[] = [];
  /** What the next job start of `two` does with its worker (tests that stop a worker mid-piece set it). */
  let onStart: ((worker: Worker, count: number) => void) | undefined;
  /** The recording as one worker transcribes it (set by the first test). */
  let single: Transcript;
  /** Until `two` has no job running or waiting, or fails after 20 s. */
  const idle = async () => {
    for (const deadline = Date.now() + 20_000; two.stats().running + two.stats().queued > 0; ) {
      assert.ok(Date.now() < deadline, `still busy: ${JSON.stringify(two.stats())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const transcribesSentence = async () => assert.ok(wordErrorRate(sentence.text, (await two.transcribe({ path: sentence.path })).text).rate <= WER_BOUND);
  const startsDuring = async (work: () => Promise<unknown>) => {
    const from = started.length;
    await work();
    return started.slice(from);
  };

  before(async () => {
    [one, two] = await Promise.all([
      createPocketSphinxEngine({ workers: 1, utterance: UTTERANCE }),
      createPocketSphinxEngine({
        workers: 2,
        utterance: UTTERANCE,
        splitSeconds: 10,
        pieceSeconds: PIECE_SECONDS,
        onJobStart: (worker) => {
          started.push(worker);
          onStart?.(worker, started.length);
        },
      }),
    ]);
  });
  after(async () => Promise.all([one?.close(), two?.close()]));

  it('gives the same words as one worker, with monotonic times that fall on the speech, in every format', async (t) => {
    let split: Transcript | undefined;
    const starts = await startsDuring(async () => ([single, split] = await Promise.all([one.transcribe({ path: recording.path }), two.transcribe({ path: recording.path })])));
    assert.ok(split);
    t.diagnostic(`1 worker: "${single.text}"`);
    t.diagnostic(`2 workers (${starts.length - 1} pieces handed out): "${split.text}"`);
    assert.ok(starts.length >= 2 && new Set(starts).size === 2, `${starts.length} job starts on ${new Set(starts).size} workers: the file was not split over both`);
    assert.deepEqual(words(split.text), words(single.text));
    assert.ok(wordErrorRate(recording.text, split.text).rate <= WER_BOUND);
    assert.equal(split.duration, single.duration);
    let previousEnd = 0;
    for (const s of split.segments) {
      assert.ok(s.start >= previousEnd && s.end > s.start && s.end <= split.duration, `segment ${JSON.stringify(s)} after ${previousEnd}`);
      const middle = ((s.start + s.end) / 2) * SPEECH_HZ;
      assert.ok(recording.spans.some((span) => middle >= span.start && middle <= span.end), `segment ${JSON.stringify(s)} is not on any sentence`);
      previousEnd = s.end;
    }
    // Times are offset by each piece's first sample: every sentence's first word is where the sentence is.
    for (const span of recording.spans) {
      const start = span.start / SPEECH_HZ;
      assert.ok(split.segments.some((s) => Math.abs(s.start - start) <= 0.1), `no segment starts at the sentence at ${start} s`);
    }
    // Every format is made from the segments: equal segments, equal SRT and VTT (and JSON, which holds them).
    assert.deepEqual(split.segments, single.segments);
    assert.equal(toSrt(split.segments), toSrt(single.segments));
    assert.equal(toVtt(split.segments), toVtt(single.segments));
  });

  it('splits one long request at a time: of three at once, one is split, and all give the one-worker words', async () => {
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, two.stats().splitting)), 2);
    try {
      const starts = await startsDuring(async () => {
        const transcripts = await Promise.all([1, 2, 3].map(() => two.transcribe({ path: recording.path })));
        for (const transcript of transcripts) assert.deepEqual(words(transcript.text), words(single.text));
      });
      // Three first passes, and the pieces one of them handed out: the other two were decoded as they streamed.
      assert.ok(starts.length > 3, `${starts.length} job starts for three requests: none was split`);
    } finally {
      clearInterval(sampler);
    }
    assert.equal(peak, 1, 'split requests holding a decoded recording at once');
    assert.equal(two.stats().splitting, 0, 'every split request gave back what it held');
  });

  it('hands out pieces as they are cut: at most one waits for a worker at a time, and the words are the same', async () => {
    // Three requests at once keep both workers busy, so that a handed-out piece has to wait.
    let peak = 0;
    const sample = () => (peak = Math.max(peak, two.stats().piecesWaiting));
    const sampler = setInterval(sample, 1);
    onStart = sample;
    try {
      const starts = await startsDuring(async () => {
        const transcripts = await Promise.all([1, 2, 3].map(() => two.transcribe({ path: recording.path })));
        for (const transcript of transcripts) assert.deepEqual(transcript.segments, single.segments);
      });
      assert.ok(starts.length > 3, 'no piece was handed out');
    } finally {
      clearInterval(sampler);
      onStart = undefined;
    }
    assert.ok(peak <= 1, `${peak} decoded pieces waited for a worker at once (bound: 1)`);
    assert.equal(two.stats().piecesWaiting, 0);
  });

  it('lets a request that arrives meanwhile in after one piece, not after the whole file', async () => {
    const order: string[] = [];
    const long = two.transcribe({ path: recording.path }).then(() => order.push('long'));
    while (two.stats().running < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(two.stats().queued, 0, 'the pieces left to run take no place in the queue');
    const short = two.transcribe({ path: sentence.path }).then(() => order.push('short'));
    await Promise.all([long, short]);
    assert.deepEqual(order, ['short', 'long']);
  });

  it('cancelled, stops every piece at once and frees both workers', async () => {
    const controller = new AbortController();
    const from = started.length;
    onStart = (_worker, count) => {
      if (count === from + 3) controller.abort(); // the first pass and two pieces are running
    };
    await assert.rejects(two.transcribe({ path: recording.path, signal: controller.signal }), isCode('CANCELLED'));
    onStart = undefined;
    await idle();
    assert.equal(started.length, from + 3, 'a piece started after the request was cancelled');
    await transcribesSentence();
  });

  it('fails as a whole, and cleanly, when a worker dies in one piece', async () => {
    const from = started.length;
    onStart = (worker, count) => {
      if (count === from + 2) void worker.terminate(); // the first piece's worker
    };
    await assert.rejects(two.transcribe({ path: recording.path }), isCode('UNAVAILABLE'));
    onStart = undefined;
    await idle();
    const afterFailure = started.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(started.length, afterFailure, 'pieces of the failed request kept starting');
    assert.ok(afterFailure <= from + 3, `${afterFailure - from} jobs started for a request that failed in its first piece`);
    while (two.stats().workers < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await transcribesSentence();
  });

  it('closed meanwhile, fails with UNAVAILABLE and lets the engine stop (last: it closes the engine)', async () => {
    const long = two.transcribe({ path: recording.path });
    while (two.stats().running < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([assert.rejects(long, isCode('UNAVAILABLE')), two.close()]);
  });
});
