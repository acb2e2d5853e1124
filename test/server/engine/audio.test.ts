/**
 * The audio front end on its own: format detection by magic bytes, the probe's refusals, mono mixing, the
 * resampler's accuracy, and real decoded speech as 16 kHz s16.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { detectFormat } from '../../../src/protocol/audio-format.js';
import { mixToMono } from '../../../src/server/engine/audio/decode.js';
import { pcm16k, SPEECH_RATE, toInt16 } from '../../../src/server/engine/audio/pcm16k.js';
import { probeAudio } from '../../../src/server/engine/audio/probe.js';
import { Resampler } from '../../../src/server/engine/audio/resample.js';
import { MAX_WAV_CHUNKS, WAV_BLOCK_BYTES, wavSeconds } from '../../../src/server/engine/audio/wav-header.js';
import { EngineError, type EngineErrorCode } from '../../../src/server/engine/engine.js';
import { convert, encode, scratchDir, speak } from '../../../support/speech.js';

const bytes = (...parts: (string | number[])[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
const rejectsWith = (code: EngineErrorCode) => (err: unknown) => err instanceof EngineError && err.code === code;

/** A canonical 44-byte PCM WAV header for `dataBytes` of 16-bit mono at `rate`. */
function wavHeader(dataBytes: number, rate = 16_000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** A RIFF chunk: `id`, then `length` zero bytes and the pad byte an odd length takes. */
const chunk = (id: string, length: number) => {
  const c = Buffer.alloc(8 + length + (length & 1));
  c.write(id, 0);
  c.writeUInt32LE(length, 4);
  return c;
};

/** A WAV file of one second of 16 kHz silence, with `extra` chunks between its `fmt ` and `data` chunks. */
const wavWith = (extra: readonly Buffer[]) => Buffer.concat([wavHeader(32_000).subarray(0, 36), ...extra, wavHeader(32_000).subarray(36), Buffer.alloc(32_000)]);

/** `wavSeconds`' reads from bytes in memory, as from a file, counted; `onRead` sees each read's number. */
function memoryReader(bytes: Uint8Array, onRead?: (reads: number) => void) {
  const reader = {
    reads: 0,
    readAt: async (position: number, length: number) => {
      reader.reads++;
      onRead?.(reader.reads);
      return bytes.subarray(position, position + length);
    },
  };
  return reader;
}

/** A chunk bomb: 2 MiB of empty 8-byte chunks before the audio. */
function chunkBomb(): Buffer {
  const junk = Buffer.alloc(2 * 1024 * 1024);
  for (let at = 0; at < junk.length; at += 8) junk.write('junk', at); // each of length 0
  return wavWith([junk]);
}

/** Ordinary extra chunks: the second's header straddles the end of the first block read, the third outgrows a block. */
const sprawlingHeader = () => wavWith([chunk('LIST', WAV_BLOCK_BYTES - 36), chunk('fact', 4), chunk('bext', WAV_BLOCK_BYTES + 1)]);

describe('detectFormat', () => {
  const cases: [string, Uint8Array, ReturnType<typeof detectFormat>][] = [
    ['RIFF/WAVE', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '), { kind: 'supported', codec: 'wav' }],
    ['fLaC', bytes('fLaC', [0, 0, 0, 34]), { kind: 'supported', codec: 'flac' }],
    ['an MPEG-1 layer III frame', bytes([0xff, 0xfb, 0x90, 0x64]), { kind: 'supported', codec: 'mp3' }],
    ['an MPEG-2 layer III frame', bytes([0xff, 0xf3, 0x48, 0xc4]), { kind: 'supported', codec: 'mp3' }],
    ['Ogg Vorbis', bytes('OggS', new Array(22).fill(0), [1, 30], '\x01vorbis'), { kind: 'supported', codec: 'oga' }],
    ['Ogg Opus', bytes('OggS', new Array(22).fill(0), [1, 19], 'OpusHead'), { kind: 'supported', codec: 'opus' }],
    ['stereo Ogg Vorbis', bytes('OggS', new Array(22).fill(0), [1, 30], '\x01vorbis', [0, 0, 0, 0, 2]), { kind: 'supported', codec: 'oga' }],
    ['Ogg Vorbis with 200 channels', bytes('OggS', new Array(22).fill(0), [1, 30], '\x01vorbis', [0, 0, 0, 0, 200]), { kind: 'unsupported', name: 'Ogg Vorbis with 200 channels (at most 8)' }],
    ['Ogg Opus with 255 channels', bytes('OggS', new Array(22).fill(0), [1, 19], 'OpusHead', [1, 255]), { kind: 'unsupported', name: 'Ogg Opus with 255 channels (at most 8)' }],
    ['Ogg Vorbis at 192 kHz', bytes('OggS', new Array(22).fill(0), [1, 30], '\x01vorbis', [0, 0, 0, 0, 2, 0x00, 0xee, 0x02, 0x00]), { kind: 'unsupported', name: 'Ogg Vorbis at 192000 Hz (at most 96000 Hz)' }],
    ['FLAC at 48 kHz, stereo', bytes('fLaC', [0, 0, 0, 34], new Array(10).fill(0), [0x0b, 0xb8, 0x02, 0, 0, 0, 0, 0]), { kind: 'supported', codec: 'flac' }],
    ['FLAC at 192 kHz', bytes('fLaC', [0, 0, 0, 34], new Array(10).fill(0), [0x2e, 0xe0, 0x02, 0, 0, 0, 0, 0]), { kind: 'unsupported', name: 'FLAC at 192000 Hz (at most 96000 Hz)' }],
    ['Ogg Speex', bytes('OggS', new Array(22).fill(0), [1, 80], 'Speex   '), { kind: 'unsupported', name: 'Speex' }],
    ['MP4/M4A', bytes([0, 0, 0, 0x20], 'ftypM4A '), { kind: 'unsupported', name: 'MP4/M4A' }],
    ['WebM', bytes([0x1a, 0x45, 0xdf, 0xa3]), { kind: 'unsupported', name: 'WebM/Matroska' }],
    ['AIFF', bytes('FORM', [0, 0, 0, 0], 'AIFF'), { kind: 'unsupported', name: 'AIFF' }],
    ['AAC in ADTS', bytes([0xff, 0xf1, 0x50, 0x80]), { kind: 'unsupported', name: 'AAC (ADTS)' }],
    ['an ID3v2 tag of 257 bytes', bytes('ID3', [4, 0, 0, 0, 0, 2, 1]), { kind: 'skip', offset: 10 + 257 }],
    ['text', bytes('hello, world'), { kind: 'unknown' }],
    ['a sync-like byte pair with a reserved version', bytes([0xff, 0xe9, 0x90, 0x64]), { kind: 'unknown' }],
    ['nothing', bytes(), { kind: 'unknown' }],
  ];
  for (const [name, head, expected] of cases) it(`classifies ${name}`, () => assert.deepEqual(detectFormat(head), expected));
});

describe('probeAudio', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  const file = async (name: string, content: Uint8Array) => {
    const p = path.join(scratch.dir, name);
    await writeFile(p, content);
    return p;
  };
  before(async () => (scratch = await scratchDir()));
  after(() => scratch.dispose());

  it('refuses an empty file as EMPTY_AUDIO', async () => {
    await assert.rejects(probeAudio(await file('empty.wav', bytes())), rejectsWith('EMPTY_AUDIO'));
  });
  it('refuses bytes that are not audio as UNREADABLE_AUDIO, whatever the name says', async () => {
    await assert.rejects(probeAudio(await file('notes.mp3', bytes('{"not": "audio"}'))), rejectsWith('UNREADABLE_AUDIO'));
  });
  it('refuses a WAV file cut inside its header as UNREADABLE_AUDIO', async () => {
    await assert.rejects(probeAudio(await file('cut.wav', wavHeader(32_000).subarray(0, 30))), rejectsWith('UNREADABLE_AUDIO'));
  });
  it('refuses Ogg Vorbis with more channels than speech has (a channel bomb) as UNSUPPORTED_FORMAT, before decoding', async () => {
    const many = path.join(scratch.dir, 'sixteen.ogg');
    await promisify(execFile)('sox', ['-n', '-c', '16', '-r', '8000', many, 'synth', '0.3', 'sine', '440']);
    await assert.rejects(probeAudio(many), (err) => err instanceof EngineError && err.code === 'UNSUPPORTED_FORMAT' && /16 channels \(at most 8\)/.test(err.message));
    const stereo = path.join(scratch.dir, 'stereo.ogg');
    await promisify(execFile)('sox', ['-n', '-c', '2', '-r', '8000', stereo, 'synth', '0.3', 'sine', '440']);
    assert.deepEqual(await probeAudio(stereo), { codec: 'oga' });
  });
  it('refuses M4A-like bytes as UNSUPPORTED_FORMAT', async () => {
    await assert.rejects(probeAudio(await file('memo.wav', bytes([0, 0, 0, 0x20], 'ftypM4A ', [0, 0, 2, 0], 'M4A mp42isom', new Array(64).fill(0)))), rejectsWith('UNSUPPORTED_FORMAT'));
  });
  it("reads a WAV file's duration from its header, trusting the file's size over a header that claims more", async () => {
    assert.deepEqual(await probeAudio(await file('one-second.wav', Buffer.concat([wavHeader(32_000), Buffer.alloc(32_000)]))), { codec: 'wav', seconds: 1 });
    assert.deepEqual(await probeAudio(await file('cut-data.wav', Buffer.concat([wavHeader(32_000), Buffer.alloc(8_000)]))), { codec: 'wav', seconds: 0.25 });
  });
  it('reads the duration past ordinary extra chunks: LIST, fact, an odd-sized one, one longer than a read', async () => {
    assert.deepEqual(await probeAudio(await file('tagged.wav', wavWith([chunk('LIST', 26), chunk('fact', 4), chunk('odd ', 3)]))), { codec: 'wav', seconds: 1 });
    assert.deepEqual(await probeAudio(await file('sprawling.wav', sprawlingHeader())), { codec: 'wav', seconds: 1 });
  });
  it(`refuses a WAV "chunk bomb" (2 MiB of empty chunks before the audio) as UNREADABLE_AUDIO, saying why`, async () => {
    await assert.rejects(
      probeAudio(await file('bomb.wav', chunkBomb())),
      (err: unknown) => err instanceof EngineError && err.code === 'UNREADABLE_AUDIO' && err.message.includes(`more than ${MAX_WAV_CHUNKS} chunks before its audio data`),
    );
  });
  it('refuses a WAV file whose audio data comes before any format chunk as UNREADABLE_AUDIO, saying so', async () => {
    const noFormat = Buffer.concat([wavHeader(32_000).subarray(0, 12), wavHeader(32_000).subarray(36), Buffer.alloc(32_000)]);
    await assert.rejects(probeAudio(await file('no-fmt.wav', noFormat)), (err: unknown) => err instanceof EngineError && err.code === 'UNREADABLE_AUDIO' && /no usable format chunk/.test(err.message));
  });
  it('reads WAV headers in blocks: a bomb is refused, a short header walked, after one read each', async () => {
    const bombBytes = chunkBomb();
    const bomb = memoryReader(bombBytes);
    await assert.rejects(wavSeconds(bomb.readAt, bombBytes.length), rejectsWith('UNREADABLE_AUDIO'));
    assert.equal(bomb.reads, 1);
    const tagged = wavWith([chunk('LIST', 26), chunk('fact', 4)]);
    const ordinary = memoryReader(tagged);
    assert.equal(await wavSeconds(ordinary.readAt, tagged.length), 1);
    assert.equal(ordinary.reads, 1);
  });
  it('stops probing once its signal is aborted: before opening the file, and between reads of a WAV header', async () => {
    await assert.rejects(probeAudio(await file('aborted.wav', wavWith([])), AbortSignal.abort()), rejectsWith('CANCELLED'));
    const wav = sprawlingHeader();
    const controller = new AbortController();
    const reader = memoryReader(wav, (reads) => reads === 2 && controller.abort()); // the client leaves during the 2nd read
    await assert.rejects(wavSeconds(reader.readAt, wav.length, controller.signal), rejectsWith('CANCELLED'));
    assert.equal(reader.reads, 2);
    assert.equal(await wavSeconds(memoryReader(wav).readAt, wav.length), 1); // which a third read would have finished
  });
  it('finds MPEG audio after an ID3 tag, and FLAC after one', async () => {
    const tag = bytes('ID3', [4, 0, 0, 0, 0, 0, 20], new Array(20).fill(0));
    assert.deepEqual(await probeAudio(await file('tagged.mp3', bytes([...tag], [0xff, 0xfb, 0x90, 0x64], new Array(100).fill(0)))), { codec: 'mp3' });
    assert.deepEqual(await probeAudio(await file('tagged.flac', bytes([...tag], 'fLaC', new Array(100).fill(0)))), { codec: 'flac' });
  });
});

describe('mixToMono', () => {
  it('averages the channels and keeps a single channel as it is', () => {
    const left = Float32Array.from([1, 0.5, -1]);
    assert.deepEqual([...mixToMono([left, Float32Array.from([0, 0.5, 1])])], [0.5, 0.5, 0]);
    assert.equal(mixToMono([left]), left);
  });
});

describe('Resampler', () => {
  const tone = (hz: number, rate: number, seconds: number) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  const resample = (r: Resampler, input: Float32Array, rate: number, chunk: number) => {
    r.start(rate);
    const parts: Float32Array[] = [];
    for (let at = 0; at < input.length; at += chunk) parts.push(Float32Array.from(r.push(input.subarray(at, at + chunk))));
    parts.push(Float32Array.from(r.end()));
    return Float32Array.from(parts.flatMap((p) => [...p]));
  };
  let resampler: Resampler;
  before(async () => (resampler = await Resampler.create(SPEECH_RATE)));

  for (const rate of [8_000, 22_050, 44_100, 48_000]) {
    it(`turns a 1 kHz tone at ${rate} Hz into the same tone at 16 kHz, time-aligned and of the exact length`, () => {
      const out = resample(resampler, tone(1000, rate, 2), rate, 4096);
      assert.equal(out.length, 32_000);
      const ideal = tone(1000, SPEECH_RATE, 2);
      // Away from the edges (where the input itself starts and stops abruptly) the output is the ideal tone.
      const error = rms(out.subarray(400, -400).map((v, i) => v - ideal[i + 400]!));
      assert.ok(error < 1e-3, `RMS error ${error}`);
    });
  }
  it('removes what lies above the new Nyquist frequency instead of folding it into the speech band', () => {
    const out = resample(resampler, tone(11_000, 44_100, 1), 44_100, 8192);
    assert.ok(rms(out.subarray(400, -400)) < 0.005, `an 11 kHz tone leaves RMS ${rms(out)} at 16 kHz`);
  });
  it('gives the same output whatever the input chunking, and starts afresh for each stream', () => {
    const input = tone(440, 44_100, 1.3);
    const whole = resample(resampler, input, 44_100, input.length);
    const chunked = resample(resampler, input, 44_100, 1000);
    assert.equal(chunked.length, whole.length);
    assert.ok(chunked.every((v, i) => Math.abs(v - whole[i]!) < 1e-6));
  });
  it('passes 16 kHz through untouched', () => {
    const input = tone(440, 16_000, 0.5);
    assert.deepEqual(resample(resampler, input, 16_000, 999), input);
  });
  it('refuses a sample rate outside what audio uses', () => {
    assert.throws(() => resampler.start(10), RangeError);
  });
});

describe('pcm16k on real speech', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let wav: string;
  let resampler: Resampler;
  before(async () => {
    scratch = await scratchDir();
    wav = await speak(scratch.dir, 'slt', 'Audio arrives in many formats.', 'short');
    resampler = await Resampler.create(SPEECH_RATE);
  });
  after(() => scratch.dispose());

  const collect = async (file: string, codec: Parameters<typeof pcm16k>[1], maxSeconds = 60) => {
    const blocks = [];
    for await (const block of pcm16k(file, codec, resampler, maxSeconds)) blocks.push(block);
    return { samples: blocks.reduce((n, b) => n + b.pcm.length, 0), seconds: blocks.at(-1)?.inputSeconds ?? 0, blocks };
  };

  it('yields the samples of a 16 kHz WAV unchanged in number, and its duration', async () => {
    const { seconds } = (await probeAudio(wav)) as { seconds: number };
    const { samples, seconds: decoded } = await collect(wav, 'wav');
    assert.equal(samples, Math.round(seconds * SPEECH_RATE));
    assert.equal(decoded, seconds);
  });
  it('decodes 44.1 kHz stereo and FLAC to the same number of 16 kHz samples', async () => {
    const { samples } = await collect(wav, 'wav');
    assert.equal((await collect(await convert(wav, 44_100, 2), 'wav')).samples, samples);
    assert.equal((await collect(await encode(wav, 'flac'), 'flac')).samples, samples);
  });
  it('stops with UNREADABLE_AUDIO once the audio runs past the limit', async () => {
    await assert.rejects(collect(await encode(wav, 'mp3'), 'mp3', 0.5), (err: unknown) => err instanceof EngineError && err.code === 'TOO_LONG' && /longer than/.test(err.message));
  });
  it("turns a decoder's failure into UNREADABLE_AUDIO", async () => {
    const header = wavHeader(3200);
    header.writeUInt16LE(0x55, 20); // MPEG layer III inside WAV: a format code the WAV decoder refuses
    const odd = path.join(scratch.dir, 'mp3-in.wav');
    await writeFile(odd, Buffer.concat([header, Buffer.alloc(3200)]));
    await assert.rejects(collect(odd, 'wav'), (err: unknown) => err instanceof EngineError && err.code === 'UNREADABLE_AUDIO' && /could not be decoded/.test(err.message));
  });
  it('yields nothing for bytes in which the decoder finds no frame (the engine calls that EMPTY_AUDIO)', async () => {
    const fake = path.join(scratch.dir, 'fake.flac');
    await writeFile(fake, bytes('fLaC', new Array(4000).fill(0x5a)));
    assert.equal((await collect(fake, 'flac')).samples, 0);
  });
  it('rounds and clips floats to s16', () => {
    assert.deepEqual([...toInt16(Float32Array.from([0, 0.5, -0.5, 1.2, -1.5, 1 / 32768]))], [0, 16384, -16384, 32767, -32768, 1]);
  });
});
