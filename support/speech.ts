/**
 * Real speech for the engine tests, made on the spot with Debian's tools (installed by scripts/setup-system.sh):
 * flite speaks, lame/flac/oggenc/opusenc encode, sox converts rate and channels. Plus word error rate.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** flite's natural-sounding voices (16 kHz). */
export type Voice = 'slt' | 'rms';

/**
 * What each voice says: everyday sentences with no digits, abbreviations or compounds, so that the reference text is
 * exactly the words flite speaks.
 */
export const SCRIPT: Readonly<Record<Voice, readonly string[]>> = {
  slt: [
    'The weather was cold and windy, so we stayed inside and read books by the fire.',
    'Please send the report to the manager before the end of the week.',
    'She opened the window and listened to the birds singing in the garden.',
  ],
  rms: [
    'The train to the city leaves early in the morning from the main station.',
    'He forgot his keys at home and had to wait outside for an hour.',
    'The children played in the park until the sun went down.',
  ],
};

export type Encoding = 'mp3' | 'flac' | 'ogg' | 'opus';

/** A scratch directory for generated audio; `dispose` removes it. */
export async function scratchDir(): Promise<{ readonly dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-speech-'));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Speaks `text` with `voice` into `<dir>/<name>.wav` (16 kHz mono s16) and returns its path. */
export async function speak(dir: string, voice: Voice, text: string, name: string): Promise<string> {
  const out = path.join(dir, `${name}.wav`);
  await run('flite', ['-voice', voice, '-t', text, '-o', out]);
  return out;
}

/** Encodes a WAV file beside it, with each format's everyday encoder and settings, and returns the new path. */
export async function encode(wav: string, encoding: Encoding): Promise<string> {
  const out = wav.replace(/\.wav$/, `.${encoding}`);
  const commands: Record<Encoding, [string, string[]]> = {
    mp3: ['lame', ['--quiet', '-b', '64', wav, out]],
    flac: ['flac', ['--silent', '--force', '-o', out, wav]],
    ogg: ['oggenc', ['--quiet', '-o', out, wav]],
    opus: ['opusenc', ['--quiet', wav, out]],
  };
  const [command, args] = commands[encoding];
  await run(command, args);
  return out;
}

/**
 * Resamples with sox's own very-high-quality converter and sets the channel count, writing 16-bit WAV without dither
 * (sox dithers by default, with random noise: the same input would give a different file each run).
 */
export async function convert(wav: string, rate: number, channels: 1 | 2): Promise<string> {
  const out = wav.replace(/\.wav$/, `-${rate}-${channels}ch.wav`);
  await run('sox', [wav, '-D', '-b', '16', '-c', String(channels), out, 'rate', '-v', String(rate)]);
  return out;
}

/** Rewrites as 32-bit float WAV (format 3, with the `fact` chunk sox adds), at the same rate and without dither. */
export async function floatWav(wav: string): Promise<string> {
  const out = wav.replace(/\.wav$/, '-float.wav');
  await run('sox', [wav, '-D', '-e', 'floating-point', '-b', '32', out]);
  return out;
}

/** Keeps only what lies below `hz` (a steep low-pass), at the same rate: audio that survives a lower rate intact. */
export async function lowpass(wav: string, hz: number): Promise<string> {
  const out = wav.replace(/\.wav$/, `-lp${hz}.wav`);
  await run('sox', [wav, '-D', out, 'sinc', `-${hz}`]);
  return out;
}

/** Scales the samples by `factor` (0.05: a quiet, far-off talker), at the same rate and without dither. */
export async function volume(wav: string, factor: number): Promise<string> {
  const out = wav.replace(/\.wav$/, `-vol${factor}.wav`);
  await run('sox', [wav, '-D', out, 'vol', String(factor)]);
  return out;
}

/** A 440 Hz tone of `seconds` into `<dir>/<name>.wav` (16 kHz mono s16, 32 KB a second): a large, valid, deterministic upload. */
export async function tone(dir: string, name: string, seconds: number): Promise<string> {
  const out = path.join(dir, `${name}.wav`);
  await run('sox', ['-n', '-D', '-r', '16000', '-c', '1', '-b', '16', out, 'synth', String(seconds), 'sine', '440']);
  return out;
}

/**
 * `count` bursts of a 220 Hz tone (`burst` s), each followed by `pause` s of digital silence, into `<dir>/<name>.wav`
 * (16 kHz mono s16): sound with pauses for a splitter to cut at, made in no time. Returns the file and the bursts' times.
 */
export async function bursts(dir: string, name: string, count: number, burst = 2, pause = 1): Promise<{ path: string; bursts: { start: number; end: number }[] }> {
  const out = path.join(dir, `${name}.wav`);
  await run('sox', ['-n', '-D', '-r', '16000', '-c', '1', '-b', '16', out, 'synth', String(burst), 'sine', '220', 'vol', '0.25', 'pad', '0', String(pause), 'repeat', String(count - 1)]);
  return { path: out, bursts: Array.from({ length: count }, (_, i) => ({ start: i * (burst + pause), end: i * (burst + pause) + burst })) };
}

/** Joins WAV files of one format, one after the other. */
export async function concatenate(wavs: readonly string[], out: string): Promise<string> {
  await run('sox', [...wavs, out]);
  return out;
}

/** A recording of sentences with pauses between them, and where each sentence is. */
export interface SpokenRecording {
  /** 16 kHz mono s16 WAV. */
  readonly path: string;
  /** Everything said, in order. */
  readonly text: string;
  /** Each sentence's speech, in samples from the start (its own leading and trailing silence trimmed). */
  readonly spans: readonly { readonly start: number; readonly end: number }[];
  readonly samples: number;
}

/** flite's rate, and the rate of every recording made here. */
export const SPEECH_HZ = 16_000;

/**
 * Speaks each line with its voice, trims the silence flite leaves around it, and joins them with `pauseSeconds` of
 * digital silence between (and at both ends) into `<dir>/<name>.wav`. A line said again is spoken once.
 */
export async function spokenRecording(dir: string, name: string, lines: readonly { readonly voice: Voice; readonly text: string }[], pauseSeconds: number): Promise<SpokenRecording> {
  const pause = path.join(dir, `${name}-pause.wav`);
  await run('sox', ['-n', '-r', String(SPEECH_HZ), '-b', '16', '-c', '1', pause, 'trim', '0', String(pauseSeconds)]);
  const pauseSamples = await sampleCount(pause);
  const parts: string[] = [pause];
  const spans: { start: number; end: number }[] = [];
  const spoken = new Map<string, { readonly file: string; readonly length: number }>();
  let at = pauseSamples;
  for (const line of lines) {
    const key = `${line.voice} ${line.text}`;
    if (!spoken.has(key)) {
      const file = await speak(dir, line.voice, line.text, `${name}-${spoken.size}`);
      const trimmed = file.replace(/\.wav$/, '-trim.wav');
      // Trim below -50 dBFS at both ends (sox's silence effect, reversed for the end), without dither (random noise).
      await run('sox', [file, '-D', trimmed, 'silence', '1', '0.01', '-50d', 'reverse', 'silence', '1', '0.01', '-50d', 'reverse']);
      spoken.set(key, { file: trimmed, length: await sampleCount(trimmed) });
    }
    const { file: trimmed, length } = spoken.get(key)!;
    spans.push({ start: at, end: at + length });
    at += length + pauseSamples;
    parts.push(trimmed, pause);
  }
  const out = await concatenate(parts, path.join(dir, `${name}.wav`));
  return { path: out, text: lines.map((l) => l.text).join(' '), spans, samples: at };
}

/** About `minutes` of the script's sentences, voices alternating, `pauseSeconds` apart (each sentence with its pause is about 4.5 s). */
export function longRecording(dir: string, name: string, minutes: number, pauseSeconds: number): Promise<SpokenRecording> {
  const count = Math.ceil((minutes * 60) / 4.5);
  const lines = Array.from({ length: count }, (_, i) => {
    const voice: Voice = i % 2 === 0 ? 'slt' : 'rms';
    return { voice, text: SCRIPT[voice][Math.floor(i / 2) % SCRIPT[voice].length]! };
  });
  return spokenRecording(dir, name, lines, pauseSeconds);
}

async function sampleCount(wav: string): Promise<number> {
  const { stdout } = await run('soxi', ['-s', wav]);
  return Number(stdout.trim());
}

/** Words for scoring: lower case, punctuation dropped (apostrophes inside words kept). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter(Boolean);
}

export interface WerResult {
  /** The word error rate: (substitutions + deletions + insertions) / reference words. */
  readonly rate: number;
  readonly errors: number;
  readonly referenceWords: number;
}

/** Word error rate: word-level Levenshtein distance between the normalised texts, over the reference's length. */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = words(reference);
  const hyp = words(hypothesis);
  let previous = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  const errors = previous[hyp.length]!;
  return { rate: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : errors / ref.length, errors, referenceWords: ref.length };
}
