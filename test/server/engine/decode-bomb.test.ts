/**
 * Decode bombs: FLAC files of a few kilobytes that hold hours of silence (65,535 samples in ~12 bytes a frame). They
 * must be refused from their header when it states their length, stopped as they decode when it does not (holding
 * one small block at a time, never the whole decode), and a cancelled long decode must free its worker in bounded time.
 * Decoder amplifiers (a sample rate or channel count far beyond speech, in a header, in frames that contradict it, or
 * in a second chained Ogg stream) are sent to the real server as an attacker would, and must be answered in less time
 * than an ordinary file of the same length: the work is bounded by the audio's duration, not by its declared format.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { EngineError, type EngineErrorCode } from '../../../src/server/engine/engine.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { WorkerPool } from '../../../src/server/engine/worker-pool.js';
import { pcm16k, SPEECH_RATE } from '../../../src/server/engine/audio/pcm16k.js';
import { Resampler } from '../../../src/server/engine/audio/resample.js';
import { startServe, type ServeProcess } from '../../../support/cli.js';
import { chainedOpus, chainedVorbis, lyingFlac, RATE_BOMB, RATE_BOMB_BASELINE, silentFlac, silentWav } from '../../../support/decoder-bombs.js';
import { errorCode, exchange, multipartBody, uploadHead, type RawAnswer } from '../../../support/raw-client.js';
import { convert, SCRIPT, scratchDir, speak, wordErrorRate } from '../../../support/speech.js';

const isKind = (kind: EngineErrorCode) => (err: unknown) => err instanceof EngineError && err.code === kind;
/** 20 minutes of 48 kHz silence: 57.6 M samples (230 MB as floats) in a 19 KB file. */
const LONG_SILENCE = { rate: 48_000, channels: 1, seconds: 20 * 60 };

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let stated: string;
let unknown: string;
before(async () => {
  scratch = await scratchDir();
  [stated, unknown] = await Promise.all([silentFlac(scratch.dir, 'stated', LONG_SILENCE), silentFlac(scratch.dir, 'unknown', { ...LONG_SILENCE, unknownLength: true })]);
});
after(() => scratch?.dispose());

/** Runs `use` on a fresh one-worker engine (a fresh worker: memory one job grew does not hide another's). */
async function withEngine(options: Parameters<typeof createPocketSphinxEngine>[0], use: (engine: PocketSphinxEngine) => Promise<void>): Promise<void> {
  const engine = await createPocketSphinxEngine({ workers: 1, ...options });
  try {
    await use(engine);
  } finally {
    await engine.close();
  }
}

describe('a FLAC decode bomb, with a 1-minute limit', () => {
  it('whose header states its length is refused TOO_LONG from the header, before it takes a worker', async () => {
    let jobsStarted = 0;
    await withEngine({ maxSeconds: 60, onJobStart: () => jobsStarted++ }, async (engine) => {
      await assert.rejects(engine.transcribe({ path: stated }), isKind('TOO_LONG'));
    });
    assert.equal(jobsStarted, 0);
  });

  it('whose header does not is refused TOO_LONG as it decodes', async () => {
    await withEngine({ maxSeconds: 60 }, async (engine) => {
      await assert.rejects(engine.transcribe({ path: unknown }), isKind('TOO_LONG'));
    });
  });

  it('is decoded in small blocks and refused once the decoded input passes the limit, never decoded whole', async () => {
    // What the worker runs, on this thread: the bytes it holds are the blocks it is handed (bench/memory.ts has RSS).
    let largestBlockBytes = 0;
    let decodedSeconds = 0;
    const blocks = pcm16k(unknown, 'flac', await Resampler.create(SPEECH_RATE), 60);
    await assert.rejects(
      (async () => {
        for await (const block of blocks) {
          largestBlockBytes = Math.max(largestBlockBytes, block.pcm.byteLength);
          decodedSeconds = block.inputSeconds;
        }
      })(),
      isKind('TOO_LONG'),
    );
    const wholeBytes = LONG_SILENCE.seconds * SPEECH_RATE * Int16Array.BYTES_PER_ELEMENT;
    assert.ok(largestBlockBytes > 0 && largestBlockBytes <= wholeBytes / 100, `the largest block held ${largestBlockBytes} bytes of ${wholeBytes}`);
    const blockSeconds = largestBlockBytes / Int16Array.BYTES_PER_ELEMENT / SPEECH_RATE;
    assert.ok(decodedSeconds <= 60 && decodedSeconds > 60 - 2 * blockSeconds, `refused after ${decodedSeconds} s of input`);
  });
});

describe('a cancelled long decode', () => {
  it('frees its worker within seconds, and the next job runs', async () => {
    const controller = new AbortController();
    await withEngine({ onJobStart: () => setTimeout(() => controller.abort(), 500) }, async (engine) => {
      const text = SCRIPT.slt[0]!;
      const clip = await speak(scratch.dir, 'slt', text, 'clip');
      await assert.rejects(engine.transcribe({ path: unknown, signal: controller.signal }), isKind('CANCELLED'));
      const cancelledAt = Date.now();
      const next = await engine.transcribe({ path: clip });
      const waitedMs = Date.now() - cancelledAt;
      assert.ok(waitedMs < 10_000, `the next job finished ${waitedMs} ms after the cancel`);
      assert.ok(wordErrorRate(text, next.text).rate <= 0.25, next.text);
    });
  });
});

describe('a worker that does not answer a cancel', () => {
  it('is terminated after the grace and replaced, and the next job runs on the replacement', { timeout: 20_000 }, async () => {
    const pool = await WorkerPool.start<string, string>({ script: new URL('./fixtures/stuck-worker.js', import.meta.url), size: 1, maxQueue: 1, cancelGraceMs: 200 });
    try {
      const controller = new AbortController();
      const stuck = pool.run('stuck', controller.signal);
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(stuck, isKind('CANCELLED'));
      const started = Date.now();
      assert.equal(await pool.run('next'), 'next');
      assert.ok(Date.now() - started < 5_000, `the next job waited ${Date.now() - started} ms`);
      assert.equal(pool.stats().workers, 1);
    } finally {
      await pool.close();
    }
  });
});

describe('decoder amplifiers sent to the real server', () => {
  let serve: ServeProcess;
  let baseline: Buffer;
  let baselineMs: number;
  let rateBomb: string;

  /** Uploads `file` over a raw TLS socket; the answer and how long it took. */
  async function upload(file: Buffer, name: string): Promise<{ answer: RawAnswer | undefined; ms: number }> {
    const body = multipartBody(file, 'file', name);
    const started = performance.now();
    const answer = await exchange(serve.url, Buffer.concat([Buffer.from(uploadHead('/v1/audio/transcriptions', { contentLength: body.length })), body]), 120_000);
    return { answer, ms: performance.now() - started };
  }

  /** The refusal of `file`: 415 UNSUPPORTED_FORMAT, in at most 3 times what the 16 kHz mono minute takes. */
  async function refusedQuickly(file: string, says: RegExp): Promise<void> {
    const { answer, ms } = await upload(await readFile(file), 'bomb');
    assert.equal(answer?.status, 415, answer?.body);
    assert.equal(errorCode(answer), 'UNSUPPORTED_FORMAT');
    assert.match(answer!.body, says);
    assert.ok(ms <= 3 * baselineMs, `answered in ${ms.toFixed(0)} ms; a 16 kHz mono minute in ${baselineMs.toFixed(0)} ms`);
  }

  before(async () => {
    serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1']);
    baseline = await readFile(await silentFlac(scratch.dir, 'baseline', RATE_BOMB_BASELINE));
    rateBomb = await silentFlac(scratch.dir, 'rate-bomb', RATE_BOMB);
    await upload(baseline, 'warm-up.flac'); // first touch of the model's pages
    // The median of three: one ordinary minute of FLAC, uploaded, decoded and recognised.
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { answer, ms } = await upload(baseline, 'baseline.flac');
      assert.equal(answer?.status, 200, answer?.body);
      times.push(ms);
    }
    baselineMs = times.sort((a, b) => a - b)[1]!;
  });
  after(() => serve?.stop('SIGKILL'));

  it('a minute of 8-channel FLAC at 655,350 Hz (30 KB) is refused 415 from its header', async () => {
    await refusedQuickly(rateBomb, /655350 Hz \(at most 96000 Hz\)/);
  });

  it('the same FLAC whose STREAMINFO claims 16 kHz mono is refused 415 by its first decoded frames', async () => {
    await refusedQuickly(await lyingFlac(rateBomb), /as it decodes/);
  });

  it('a WAV at 192 kHz is refused 415 from its format chunk', async () => {
    await refusedQuickly(await silentWav(scratch.dir, 'wav-192k', 192_000, 1, 10), /WAV audio at 192000 Hz \(at most 96000 Hz\)/);
  });

  it('a chained Ogg Opus (1 s mono, then 255 channels) is refused 415 before the second stream decodes', async () => {
    await refusedQuickly(await chainedOpus(scratch.dir, 255, 4), /more than one stream/);
  });

  it('a chained Ogg Vorbis (16 kHz mono, then 44.1 kHz stereo speech) is refused 415, not decoded to noise', async () => {
    const speech = await convert(await speak(scratch.dir, 'rms', SCRIPT.rms[0]!, 'chained-second'), 44_100, 2);
    await refusedQuickly(await chainedVorbis(scratch.dir, speech), /more than one stream/);
  });

  it('leaves the worker free: the ordinary minute is still answered', async () => {
    const { answer } = await upload(baseline, 'after.flac');
    assert.equal(answer?.status, 200, answer?.body);
  });
});
