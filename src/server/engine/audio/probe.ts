/**
 * A first look at an uploaded file, before it takes a worker: which codec decodes it, and for WAV (the format whose
 * files are largest) and FLAC (whose files can be tiny for hours of audio) how long it is, from its header. Refusals
 * here are instant and cost no queue slot.
 */
import { open } from 'node:fs/promises';
import { cancelled, EngineError } from '../engine.js';
import { detectFormat, HEAD_BYTES, type Codec } from './detect-format.js';
import { flacSeconds } from './flac-header.js';
import { wavSeconds, type ReadAt } from './wav-header.js';

export interface Probe {
  readonly codec: Codec;
  /** Duration in seconds when the header states it (WAV, and FLAC unless its total is unknown), else absent: the
   * decoder finds out. */
  readonly seconds?: number;
}

/** How many ID3v2 tags in a row are skipped before giving up (files carry one, rarely two). */
const MAX_ID3_TAGS = 4;

/**
 * Reads the start of `path` and says how to decode it. Throws `EngineError`: `EMPTY_AUDIO` for an empty file,
 * `UNSUPPORTED_FORMAT` for a recognised format the engine does not take, `UNREADABLE_AUDIO` for anything else,
 * `CANCELLED` once `signal` is aborted (checked before every read).
 */
export async function probeAudio(path: string, signal?: AbortSignal): Promise<Probe> {
  if (signal?.aborted) throw cancelled();
  const file = await open(path, 'r');
  const readAt: ReadAt = async (position, length) => {
    const bytes = new Uint8Array(length);
    const { bytesRead } = await file.read(bytes, 0, length, position);
    return bytes.subarray(0, bytesRead);
  };
  try {
    const { size } = await file.stat();
    if (size === 0) throw new EngineError('EMPTY_AUDIO', 'The file is empty.');
    let offset = 0;
    for (let tags = 0; tags <= MAX_ID3_TAGS; tags++) {
      if (signal?.aborted) throw cancelled();
      const head = await readAt(offset, HEAD_BYTES);
      const format = detectFormat(head);
      switch (format.kind) {
        case 'supported':
          return withSeconds(format.codec, format.codec === 'wav' ? await wavSeconds(readAt, size, signal) : format.codec === 'flac' ? flacSeconds(head) : undefined);
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

const withSeconds = (codec: Codec, seconds: number | undefined): Probe => (seconds === undefined ? { codec } : { codec, seconds });
