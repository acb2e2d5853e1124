/**
 * Streams a file through audio-decode's decoders (WebAssembly, or JS for WAV) one read at a time and mixes each
 * decoded block to mono, so that neither the file nor its decoded samples are ever whole in memory.
 */
import { createReadStream } from 'node:fs';
import { decodeChunked } from 'audio-decode';
import { EngineError } from '../engine.js';
import type { Codec } from './detect-format.js';

/** A run of consecutive mono samples in [-1, 1]. */
export interface MonoBlock {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

/** Bytes read from the file per step: big enough that decoders see whole frames, small next to any audio. */
const READ_BYTES = 256 * 1024;

/** The channels' average: speech is the same in each, and averaging never clips. */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const length = Math.min(...channels.map((c) => c.length));
  const mono = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < length; i++) mono[i]! += channel[i]!;
  for (let i = 0; i < length; i++) mono[i]! /= channels.length;
  return mono;
}

/**
 * Decodes `path` as `codec`, yielding mono blocks in order. A decoder's failure becomes `EngineError`
 * `UNREADABLE_AUDIO`; failing to read the file itself is the server's problem and is rethrown as it is.
 */
export async function* decodeMono(path: string, codec: Codec): AsyncGenerator<MonoBlock> {
  const file = createReadStream(path, { highWaterMark: READ_BYTES });
  let readError: unknown;
  file.once('error', (err) => (readError = err));
  try {
    for await (const block of decodeChunked(file, codec)) {
      if (block.channelData.length > 0) yield { samples: mixToMono(block.channelData), sampleRate: block.sampleRate };
    }
  } catch (err) {
    if (readError !== undefined || err instanceof EngineError) throw readError ?? err;
    throw new EngineError('UNREADABLE_AUDIO', `The ${codec === 'oga' ? 'Ogg Vorbis' : codec.toUpperCase()} audio could not be decoded: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    file.destroy();
  }
}
