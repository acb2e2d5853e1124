/**
 * A first look at an uploaded file, before it takes a worker: which codec decodes it, and for WAV (the format whose
 * files are largest) how long it is, from its header. Refusals here are instant and cost no queue slot.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { EngineError } from '../engine.js';
import { detectFormat, HEAD_BYTES, type Codec } from './detect-format.js';

export interface Probe {
  readonly codec: Codec;
  /** Duration in seconds when the header states it (WAV), else undefined: the decoder finds out. */
  readonly seconds?: number;
}

/** How many ID3v2 tags in a row are skipped before giving up (files carry one, rarely two). */
const MAX_ID3_TAGS = 4;

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  const { bytesRead } = await file.read(bytes, 0, length, position);
  return bytes.subarray(0, bytesRead);
}

/**
 * Walks a WAV file's chunks to its `data` chunk, so that a file cut inside its header is refused as unreadable (the
 * decoder would just yield nothing), and returns its duration from the `fmt ` byte rate.
 */
async function wavSeconds(file: FileHandle, size: number): Promise<number | undefined> {
  let byteRate = 0;
  for (let position = 12; position + 8 <= size; ) {
    const header = await readAt(file, position, 20);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const id = String.fromCharCode(...header.subarray(0, 4));
    const length = view.getUint32(4, true);
    if (id === 'fmt ' && header.length >= 20) byteRate = view.getUint32(16, true); // after tag, channels, rate
    if (id === 'data') {
      if (byteRate === 0) break; // no usable `fmt ` before the samples
      // A streaming writer leaves 0 or 0xFFFFFFFF; a cut file declares more than it holds: trust the file's size.
      const available = size - position - 8;
      const bytes = length === 0 || length === 0xffffffff ? available : Math.min(length, available);
      return bytes / byteRate;
    }
    position += 8 + length + (length & 1); // chunks are padded to even sizes
  }
  throw new EngineError('UNREADABLE_AUDIO', 'The WAV file is cut short: its header has no audio data chunk.');
}

/**
 * Reads the start of `path` and says how to decode it. Throws `EngineError`: `EMPTY_AUDIO` for an empty file,
 * `UNSUPPORTED_FORMAT` for a recognised format the engine does not take, `UNREADABLE_AUDIO` for anything else.
 */
export async function probeAudio(path: string): Promise<Probe> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size === 0) throw new EngineError('EMPTY_AUDIO', 'The file is empty.');
    let offset = 0;
    for (let tags = 0; tags <= MAX_ID3_TAGS; tags++) {
      const format = detectFormat(await readAt(file, offset, HEAD_BYTES));
      switch (format.kind) {
        case 'supported':
          return format.codec === 'wav' ? { codec: 'wav', seconds: await wavSeconds(file, size) } : { codec: format.codec };
        case 'unsupported':
          throw new EngineError('UNSUPPORTED_FORMAT', `${format.name} audio is not supported: send WAV, MP3, FLAC, or Ogg (Vorbis or Opus).`);
        case 'unknown':
          // Past an ID3 tag, MPEG audio may start after padding or junk that its decoder skips.
          if (tags > 0) return { codec: 'mp3' };
          throw new EngineError('UNREADABLE_AUDIO', 'The file is not audio in a format this server reads (WAV, MP3, FLAC, Ogg Vorbis or Opus).');
        case 'skip':
          offset += format.offset;
          if (offset >= size) throw new EngineError('UNREADABLE_AUDIO', 'The file holds an ID3 tag and no audio.');
      }
    }
    throw new EngineError('UNREADABLE_AUDIO', 'The file starts with too many ID3 tags.');
  } finally {
    await file.close();
  }
}
