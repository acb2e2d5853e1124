/**
 * The PocketSphinx engine on real speech (flite's slt and rms voices) in every accepted format and at several sample
 * rates, long recordings cut into utterances, and its refusals.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError, type EngineErrorCode, type Transcript } from '../../../src/server/engine/engine.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { concatenate, convert, encode, floatWav, lowpass, SCRIPT, scratchDir, speak, volume, wordErrorRate, type Encoding, type Voice } from '../../../support/speech.js';

/**
 * Word error rate allowed on flite speech. Measured here: slt 4.8 % (2 of 42 words: "a report", "listen"), rms 0 %,
 * the same in every format; the issue saw 9–11 % on other sentences. The bound leaves room for other sentences.
 */
const WER_BOUND = 0.25;
/** How far two transcripts of the same speech may differ (as a word error rate) after resampling. */
const SAME_SPEECH_BOUND = 0.1;
const VOICES: readonly Voice[] = ['slt', 'rms'];
/** Every format in both voices, but Opus (Ogg too, and decoded at 48 kHz) in one: the suite runs on 2 cores in CI. */
const CASES: readonly [Voice, 'wav' | Encoding][] = [...VOICES.flatMap((v) => (['wav', 'mp3', 'flac', 'ogg'] as const).map((f): [Voice, 'wav' | Encoding] => [v, f])), ['slt', 'opus']];

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let engine: PocketSphinxEngine;
const speech = {} as Record<Voice, { readonly text: string; readonly wav: string }>;
const at16k = new Map<Voice, Promise<Transcript>>();

before(async () => {
  scratch = await scratchDir();
  engine = await createPocketSphinxEngine({ workers: 2, maxQueue: 32 });
  for (const voice of VOICES) {
    const text = SCRIPT[voice].join(' ');
    speech[voice] = { text, wav: await speak(scratch.dir, voice, text, voice) };
  }
});
after(async () => {
  await engine?.close();
  await scratch?.dispose();
});

/** The 16 kHz WAV's transcript, made once per voice and shared by the tests that compare with it. */
function transcript16k(voice: Voice): Promise<Transcript> {
  if (!at16k.has(voice)) at16k.set(voice, engine.transcribe({ path: speech[voice].wav }));
  return at16k.get(voice)!;
}

/** Segments are ordered, do not overlap, lie within the audio, span the speech, and make up the text. */
function assertSegments(transcript: Transcript): void {
  const { segments, duration } = transcript;
  assert.ok(segments.length > 0, 'no segments');
  let previousEnd = 0;
  for (const s of segments) {
    assert.ok(s.start >= previousEnd && s.end >= s.start && s.end <= duration, `segment ${JSON.stringify(s)} after ${previousEnd} in ${duration} s`);
    previousEnd = s.end;
  }
  assert.ok(segments[0]!.start < 1 && segments.at(-1)!.end > duration - 1, 'the segments do not span the speech');
  assert.equal(segments.map((s) => s.text).join(' '), transcript.text);
}

describe('transcribes flite speech', { concurrency: true }, () => {
  for (const [voice, format] of CASES) {
    it(`${voice} as ${format.toUpperCase()} within the word error rate bound, with well-formed segments`, async (t) => {
      const file = format === 'wav' ? speech[voice].wav : await encode(speech[voice].wav, format);
      const result = format === 'wav' ? await transcript16k(voice) : await engine.transcribe({ path: file });
      const wer = wordErrorRate(speech[voice].text, result.text);
      t.diagnostic(`${voice} ${format}: WER ${(wer.rate * 100).toFixed(1)} % (${wer.errors}/${wer.referenceWords}), ${result.duration.toFixed(2)} s, ${result.segments.length} segments: "${result.text}"`);
      assert.ok(wer.rate <= WER_BOUND, `WER ${(wer.rate * 100).toFixed(1)} % is above ${WER_BOUND * 100} %`);
      assert.equal(result.language, 'en');
      assertSegments(result);
      const wavDuration = (await transcript16k(voice)).duration;
      assert.ok(Math.abs(result.duration - wavDuration) < 0.08, `${format} lasts ${result.duration} s, the WAV ${wavDuration} s`);
    });
  }
});

describe('resampling', { concurrency: true }, () => {
  for (const [voice, rate, channels] of [['slt', 22_050, 1], ['rms', 44_100, 2]] as const) {
    it(`${voice} at ${rate / 1000} kHz ${channels === 1 ? 'mono' : 'stereo'} reads as it does at 16 kHz`, async (t) => {
      const [reference, result] = await Promise.all([transcript16k(voice), convert(speech[voice].wav, rate, channels).then((p) => engine.transcribe({ path: p }))]);
      const difference = wordErrorRate(reference.text, result.text).rate;
      t.diagnostic(`${voice} ${rate} Hz ×${channels}: ${(difference * 100).toFixed(1)} % from the 16 kHz transcript, WER ${(wordErrorRate(speech[voice].text, result.text).rate * 100).toFixed(1)} %`);
      assert.ok(difference <= SAME_SPEECH_BOUND, `"${result.text}" vs "${reference.text}"`);
      assert.ok(Math.abs(result.duration - reference.duration) < 0.01);
    });
  }
  it('rms as 32-bit float WAV (format 3, with a fact chunk: its samples start at byte 58, not a multiple of 4) reads as 16-bit', async () => {
    const [reference, result] = await Promise.all([transcript16k('rms'), floatWav(speech.rms.wav).then((p) => engine.transcribe({ path: p }))]);
    assert.equal(result.text, reference.text);
    assert.ok(Math.abs(result.duration - reference.duration) < 0.01);
  });
  // 8 kHz audio has nothing above 4 kHz, and the wideband model needs that band for slt's voice (38 % WER at 16 kHz
  // once low-passed, whoever resamples): compare like with like, the same band-limited speech at 16 and 8 kHz.
  it('rms at 8 kHz reads as the same band-limited speech does at 16 kHz', async (t) => {
    const banded = await lowpass(speech.rms.wav, 3800);
    const [wide, narrow] = await Promise.all([engine.transcribe({ path: banded }), engine.transcribe({ path: await convert(banded, 8000, 1) })]);
    const difference = wordErrorRate(wide.text, narrow.text).rate;
    t.diagnostic(`rms 8 kHz: ${(difference * 100).toFixed(1)} % from 16 kHz, WER ${(wordErrorRate(speech.rms.text, narrow.text).rate * 100).toFixed(1)} %`);
    assert.ok(difference <= SAME_SPEECH_BOUND, `"${narrow.text}" vs "${wide.text}"`);
    assert.ok(wordErrorRate(speech.rms.text, narrow.text).rate <= WER_BOUND);
  });
});

describe('long recordings', () => {
  let short: PocketSphinxEngine;
  before(async () => (short = await createPocketSphinxEngine({ workers: 1, utterance: { minSeconds: 2, maxSeconds: 6 }, maxSeconds: 30 })));
  after(() => short?.close());

  it('are cut into utterances without losing, splitting or reordering words', async (t) => {
    const both = await concatenate([speech.slt.wav, speech.rms.wav], path.join(scratch.dir, 'both.wav'));
    const text = `${speech.slt.text} ${speech.rms.text}`;
    const [cut, ...parts] = await Promise.all([short.transcribe({ path: both }), transcript16k('slt'), transcript16k('rms')]);
    const whole = { text: parts.map((p) => p.text).join(' ') };
    const wer = wordErrorRate(text, cut.text).rate;
    t.diagnostic(`${cut.duration.toFixed(1)} s in utterances of at most 6 s: WER ${(wer * 100).toFixed(1)} %, ${(wordErrorRate(whole.text, cut.text).rate * 100).toFixed(1)} % from the voices' transcripts in one utterance each`);
    assert.ok(wer <= WER_BOUND);
    assert.ok(wordErrorRate(whole.text, cut.text).rate <= SAME_SPEECH_BOUND);
    assertSegments(cut);
  });
  it('longer than the limit are refused: a WAV from its header, before it takes a worker, other formats as they decode', async () => {
    const long = await concatenate([speech.slt.wav, speech.rms.wav, speech.slt.wav], path.join(scratch.dir, 'long.wav'));
    const tooLong = (err: unknown) => err instanceof EngineError && err.code === 'TOO_LONG' && /longer than this server's limit of 30 s/.test(err.message);
    await assert.rejects(short.transcribe({ path: long }), tooLong);
    assert.equal(short.stats().running, 0);
    await assert.rejects(short.transcribe({ path: await encode(long, 'mp3') }), tooLong);
  });
});

describe('one job never influences the next on the same worker', () => {
  let single: PocketSphinxEngine;
  before(async () => (single = await createPocketSphinxEngine({ workers: 1 })));
  after(() => single?.close());

  // The front end adapts its noise estimate as it listens: a quiet talker, then a loud one, is where it shows.
  it('gives a file the same transcript as on a fresh worker, whatever the worker decoded before', async () => {
    const loud = speech.slt.wav;
    const quiet = await volume(speech.rms.wav, 0.05);
    const results: Transcript[] = [];
    for (const file of [loud, quiet, quiet, loud]) results.push(await single.transcribe({ path: file }));
    const [loudFresh, quietAfterLoud, quietAfterQuiet, loudAfterQuiet] = results;
    assert.deepEqual(loudAfterQuiet, loudFresh);
    assert.deepEqual(quietAfterQuiet, quietAfterLoud);
  });
});

describe('refusals', () => {
  const file = async (name: string, content: Uint8Array) => {
    const p = path.join(scratch.dir, name);
    await writeFile(p, content);
    return p;
  };
  const refuses = async (p: string, code: EngineErrorCode) =>
    assert.rejects(engine.transcribe({ path: p }), (err: unknown) => err instanceof EngineError && err.code === code && err.message.length > 0);

  it('non-audio bytes: UNREADABLE_AUDIO', async () => refuses(await file('page.wav', Buffer.from('<!doctype html><title>not audio</title>')), 'UNREADABLE_AUDIO'));
  it('a 0-byte file: EMPTY_AUDIO', async () => refuses(await file('zero.wav', Buffer.alloc(0)), 'EMPTY_AUDIO'));
  it('a WAV file cut inside its header: UNREADABLE_AUDIO', async () => {
    const wav = await import('node:fs/promises').then((fs) => fs.readFile(speech.slt.wav));
    await refuses(await file('cut.wav', wav.subarray(0, 40)), 'UNREADABLE_AUDIO');
  });
  it('a WAV file with a header and no samples: EMPTY_AUDIO', async () => {
    const wav = await import('node:fs/promises').then((fs) => fs.readFile(speech.slt.wav));
    await refuses(await file('header-only.wav', wav.subarray(0, 44)), 'EMPTY_AUDIO');
  });
  it('M4A-like bytes: UNSUPPORTED_FORMAT', async () =>
    refuses(await file('voice-memo.wav', Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A \0\0\0\0M4A mp42isom'), Buffer.alloc(1000)])), 'UNSUPPORTED_FORMAT'));
  it('an already aborted request: CANCELLED', async () => {
    await assert.rejects(engine.transcribe({ path: speech.slt.wav, signal: AbortSignal.abort() }), (err: unknown) => err instanceof EngineError && err.code === 'CANCELLED');
  });
});
