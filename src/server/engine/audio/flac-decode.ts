/**
 * FLAC decoding with a bound on what one call decodes. audio-decode's FLAC decoder decodes every frame found in the
 * bytes it is given, in one synchronous WebAssembly call, and FLAC compresses a block of 65,535 silent samples into
 * about 12 bytes: one 256 KB read held 5.9 hours of 48 kHz audio. Here codec-parser splits the bytes into frames
 * lazily, each header saying how many samples it holds before it is decoded, and libFLAC (the same WebAssembly build
 * that audio-decode uses) decodes them a batch at a time, so that the caller can stop between batches.
 */
import CodecParser from 'codec-parser';
import { FLACDecoder } from '@wasm-audio-decoders/flac';

/** Decoded audio, one array per channel. */
export interface DecodedBlock {
  readonly channelData: readonly Float32Array[];
  readonly sampleRate: number;
}

/**
 * Samples per channel that a batch reaches before it is decoded. A batch holds fewer than this plus one frame, and a
 * FLAC frame at most 65,535 samples per channel, of at most 8 channels: one call decodes under 131,071 × 8 samples
 * (4 MB of floats; 2.7 s at 48 kHz), however the file is packed. Speech (4,096-sample frames) fills a batch in 16.
 */
export const BATCH_SAMPLES = 65_536;

/** Decodes FLAC bytes arriving as `chunks` (any sizes), yielding blocks of at most a batch each, in order. */
export async function* decodeFlac(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedBlock> {
  const parser = new CodecParser('audio/flac', { enableFrameCRC32: false });
  const decoder = new FLACDecoder();
  await decoder.ready;
  let batch: Uint8Array[] = [];
  let batchSamples = 0;
  async function* decodeBatch(): AsyncGenerator<DecodedBlock> {
    if (batch.length === 0) return;
    const { channelData, samplesDecoded, sampleRate } = await decoder.decodeFrames(batch);
    batch = [];
    batchSamples = 0;
    if (samplesDecoded > 0) yield { channelData, sampleRate };
  }
  try {
    const frames = async function* () {
      for await (const chunk of chunks) yield* iterate(parser.parseChunk(chunk));
      yield* iterate(parser.flush());
    };
    for await (const frame of frames()) {
      batch.push(frame.data);
      batchSamples += frame.samples;
      if (batchSamples >= BATCH_SAMPLES) yield* decodeBatch();
    }
    yield* decodeBatch();
  } finally {
    decoder.free();
  }
}

/** codec-parser's parsers return bare iterators: walking one lazily keeps each frame's parsing next to its use. */
function* iterate<T>(iterator: Iterator<T>): Generator<T> {
  for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
}
