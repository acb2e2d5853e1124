/**
 * Decoder amplifiers, made with the real encoders (flac, sox, opusenc, oggenc): small files that cost a decoder far
 * more than their length in audio should. Shared by the decode-bomb tests and the hostile load.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SilentFlacOptions {
  readonly rate: number;
  readonly channels: number;
  readonly seconds: number;
  /** Zero STREAMINFO's total samples ("unknown", as a streaming encoder leaves it). */
  readonly unknownLength?: boolean;
}

/** FLAC silence in frames of the largest block size (65,535 samples in about 12 bytes a channel), made by `flac`. */
export async function silentFlac(dir: string, name: string, options: SilentFlacOptions): Promise<string> {
  const { rate, channels, seconds } = options;
  const out = path.join(dir, `${name}.flac`);
  const flac = `flac --silent --force --force-raw-format --endian=little --sign=signed --channels=${channels} --bps=16 --sample-rate=${rate} --lax -b 65535 -o ${out} -`;
  await run('sh', ['-c', `head -c ${rate * channels * 2 * seconds} /dev/zero | ${flac}`], { maxBuffer: 1 << 20 });
  if (options.unknownLength) {
    const bytes = await readFile(out);
    bytes[21]! &= 0xf0; // the low 4 of total_samples' 36 bits share a byte with the bit depth
    bytes.fill(0, 22, 26);
    await writeFile(out, bytes);
  }
  return out;
}

/** The 60-second, 8-channel, 655,350 Hz silence of issue 18 (about 30 KB), and its 16 kHz mono counterpart. */
export const RATE_BOMB: SilentFlacOptions = { rate: 655_350, channels: 8, seconds: 60 };
export const RATE_BOMB_BASELINE: SilentFlacOptions = { rate: 16_000, channels: 1, seconds: 60 };

/**
 * A copy of a FLAC file whose STREAMINFO claims 16 kHz mono (16-bit), whatever its frames hold: a header check passes
 * it, and the decoder finds out from the frames.
 */
export async function lyingFlac(flac: string): Promise<string> {
  const bytes = await readFile(flac);
  const rate = 16_000;
  bytes[18] = (rate >> 12) & 0xff;
  bytes[19] = (rate >> 4) & 0xff;
  bytes[20] = ((rate & 0x0f) << 4) | (0 << 1) | (15 >> 4); // channels - 1 = 0; the top bit of bits per sample - 1
  const out = flac.replace(/\.flac$/, '-lying.flac');
  await writeFile(out, bytes);
  return out;
}

/** Silence as 16-bit WAV, made by sox. */
export async function silentWav(dir: string, name: string, rate: number, channels: number, seconds: number): Promise<string> {
  const out = path.join(dir, `${name}.wav`);
  await run('sox', ['-n', '-r', String(rate), '-c', String(channels), '-b', '16', out, 'trim', '0', String(seconds)]);
  return out;
}

async function join(parts: readonly string[], out: string): Promise<string> {
  await writeFile(out, Buffer.concat(await Promise.all(parts.map((p) => readFile(p)))));
  return out;
}

/** `cat a.opus b.opus`: 1 s of mono Opus, then `channels` (default 255) channels of silence for `seconds`. */
export async function chainedOpus(dir: string, channels = 255, seconds = 10): Promise<string> {
  const first = path.join(dir, 'first.opus');
  const second = path.join(dir, `second-${channels}.opus`);
  await run('opusenc', ['--quiet', await silentWav(dir, 'first-opus', 48_000, 1, 1), first]);
  await run('opusenc', ['--quiet', await silentWav(dir, `second-${channels}`, 48_000, channels, seconds), second]);
  return join([first, second], path.join(dir, 'chained.opus'));
}

/** `cat a.ogg b.ogg`: 1 s of 16 kHz mono Vorbis, then `wav` (another rate and channel count) as Vorbis. */
export async function chainedVorbis(dir: string, wav: string): Promise<string> {
  const first = path.join(dir, 'first.ogg');
  const second = path.join(dir, 'second.ogg');
  await run('oggenc', ['--quiet', '-o', first, await silentWav(dir, 'first-vorbis', 16_000, 1, 1)]);
  await run('oggenc', ['--quiet', '-o', second, wav]);
  return join([first, second], path.join(dir, 'chained.ogg'));
}
