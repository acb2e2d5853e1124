/**
 * Streams a file through its decoder (WebAssembly, or JS for WAV) in bounded steps and mixes each decoded block to
 * mono, so that neither the file nor its decoded samples are ever whole in memory, and so that the caller (which
 * checks the duration so far, and whether the job was cancelled) gets control back after a bounded amount of audio.
 */
import { createReadStream } from 'node:fs';
import decode from 'audio-decode';
import { EngineError } from '../engine.js';
import { beyondSpeech, type Codec } from '../../../protocol/audio-format.js';
import { decodeFlac, type DecodedBlock } from './flac-decode.js';
import { oneOggStream } from './ogg-streams.js';

/** A run of consecutive mono samples in [-1, 1]. */
export interface MonoBlock {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

/** Bytes read from the file per step: the decoders below cut it into smaller pieces where they must. */
const READ_BYTES = 256 * 1024;

/**
 * Bytes handed to audio-decode's decoder per call, which decodes all they hold at once: a bound on the audio of one
 * call, from the codec's densest packing. WAV: at most 1 sample per byte (8-bit). MP3: a frame holds 1,152 samples per
 * channel in at least ~21 bytes (free format), so 16 KB hold under 1.8 M samples (38 s of 48 kHz stereo). Ogg Vorbis and
 * Opus: near-empty packets hold 4,096 (Vorbis) or 5,760 (Opus) samples per channel in a byte or two, so 4 KB of mono or
 * stereo hold minutes, not hours. FLAC needs no such bound: `decodeFlac` counts samples frame by frame.
 */
const PIECE_BYTES: Record<Exclude<Codec, 'flac'>, number> = { wav: 64 * 1024, mp3: 16 * 1024, oga: 4 * 1024, opus: 4 * 1024 };

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
    const blocks = codec === 'flac' ? decodeFlac(file) : decodeInPieces(file, codec, PIECE_BYTES[codec]);
    for await (const block of blocks) {
      // Headers were checked before decoding; this holds against frames that contradict them, and bounds every block.
      const beyond = beyondSpeech(block.channelData.length, block.sampleRate);
      if (beyond !== undefined) throw new EngineError('UNSUPPORTED_FORMAT', `The ${codecName(codec)} audio turns out to be ${beyond} as it decodes: speech needs less.`);
      if (block.channelData.length > 0) yield { samples: mixToMono(block.channelData), sampleRate: block.sampleRate };
    }
  } catch (err) {
    if (readError !== undefined || err instanceof EngineError) throw readError ?? err;
    throw new EngineError('UNREADABLE_AUDIO', `The ${codecName(codec)} audio could not be decoded: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    file.destroy();
  }
}

const codecName = (codec: Codec) => (codec === 'oga' ? 'Ogg Vorbis' : codec === 'opus' ? 'Ogg Opus' : codec.toUpperCase());

/** audio-decode's streaming decoder for `codec`, fed `pieceBytes` at a time; the caller sees each piece's audio. */
async function* decodeInPieces(chunks: AsyncIterable<Uint8Array>, codec: Exclude<Codec, 'flac'>, pieceBytes: number): AsyncGenerator<DecodedBlock> {
  const guard = codec === 'oga' || codec === 'opus' ? oneOggStream(codecName(codec)) : undefined;
  const decoder = await decode[codec]();
  try {
    for await (const chunk of chunks) {
      // A plain Uint8Array view, not the stream's Buffer: the WAV decoder copies misaligned samples with `slice`, which
      // on a Buffer is a view at the same offset (a float WAV's samples start at byte 58 after its `fact` chunk).
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at < bytes.length; at += pieceBytes) {
        const piece = bytes.subarray(at, at + pieceBytes);
        guard?.(piece);
        const block = await decoder(piece);
        if (block.channelData.length > 0) yield block;
      }
    }
    const rest = await decoder(); // flushes and frees
    if (rest.channelData.length > 0) yield rest;
  } finally {
    decoder.free(); // a no-op once flushed; frees a decoder left midway
  }
}
