/**
 * A WAV file's duration from its header: a walk over its RIFF chunks to `data`, bounded so that a file built of tiny
 * chunks costs at most a few reads before it is refused, and cancellable between reads.
 */
import { beyondSpeech, type ReadAt } from '../../../protocol/audio-format.js';
import { cancelled, EngineError } from '../engine.js';

/** Chunks walked before `data` at most: real recordings carry fewer than 20 (`fmt `, `LIST`, `fact`, `bext`…). */
export const MAX_WAV_CHUNKS = 1024;

/** Bytes read at a time: a whole ordinary header, and all MAX_WAV_CHUNKS chunks if they are empty, in one read. */
export const WAV_BLOCK_BYTES = 64 * 1024;

/** Bytes of a chunk the walk looks at: its id and length, and for `fmt ` the fields up to its byte rate. */
const LOOKED_AT = 20;

/**
 * Walks the chunks of a WAV file of `size` bytes (its 12-byte RIFF header already recognised) to its `data` chunk,
 * so that a file cut inside its header is refused as unreadable (the decoder would just yield nothing), and returns
 * its duration from the `fmt ` byte rate. Chunks are read in blocks, each header from the block that holds it.
 */
export async function wavSeconds(readAt: ReadAt, size: number, signal?: AbortSignal): Promise<number> {
  let block: Uint8Array = new Uint8Array(0);
  let blockStart = 0;
  let byteRate = 0;
  for (let position = 12, walked = 0; position + 8 <= size; walked++) {
    if (walked === MAX_WAV_CHUNKS) {
      throw new EngineError('UNREADABLE_AUDIO', `The WAV file has more than ${MAX_WAV_CHUNKS} chunks before its audio data; recordings have a few.`);
    }
    if (position + LOOKED_AT > blockStart + block.length && blockStart + block.length < size) {
      if (signal?.aborted) throw cancelled();
      block = await readAt(position, WAV_BLOCK_BYTES);
      blockStart = position;
      if (block.length < 8) break; // the file shrank under us
    }
    const at = position - blockStart;
    const view = new DataView(block.buffer, block.byteOffset + at, Math.min(LOOKED_AT, block.length - at));
    const id = String.fromCharCode(...block.subarray(at, at + 4));
    const length = view.getUint32(4, true);
    if (id === 'fmt ' && length >= 16 && view.byteLength >= LOOKED_AT) {
      // After the chunk's id and length: the format tag (u16), channels (u16), sample rate (u32), byte rate (u32).
      const beyond = beyondSpeech(view.getUint16(10, true), view.getUint32(12, true));
      if (beyond !== undefined) throw new EngineError('UNSUPPORTED_FORMAT', `WAV audio ${beyond} is not supported: speech needs less.`);
      byteRate = view.getUint32(16, true);
    }
    if (id === 'data') {
      if (byteRate === 0) throw new EngineError('UNREADABLE_AUDIO', 'The WAV file has no usable format chunk before its audio data.');
      // A streaming writer leaves 0 or 0xFFFFFFFF; a cut file declares more than it holds: trust the file's size.
      const available = size - position - 8;
      const bytes = length === 0 || length === 0xffffffff ? available : Math.min(length, available);
      return bytes / byteRate;
    }
    position += 8 + length + (length & 1); // chunks are padded to even sizes
  }
  throw new EngineError('UNREADABLE_AUDIO', 'The WAV file is cut short: its header has no audio data chunk.');
}
