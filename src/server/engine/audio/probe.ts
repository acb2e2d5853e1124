/**
 * A first look at an uploaded file, before it takes a worker: which codec decodes it, and for WAV (the format whose
 * files are largest) and FLAC (whose files can be tiny for hours of audio) how long it is, from its header. Refusals
 * here are instant and cost no queue slot.
 */
import { open } from 'node:fs/promises';
import { cancelled, EngineError } from '../engine.js';
import { classifyAudio, type Codec, type ReadAt } from '../../../protocol/audio-format.js';
import { flacSeconds } from './flac-header.js';
import { wavSeconds } from './wav-header.js';

export interface Probe {
  readonly codec: Codec;
  /** Duration in seconds when the header states it (WAV, and FLAC unless its total is unknown), else absent: the
   * decoder finds out. */
  readonly seconds?: number;
}

/**
 * Reads the start of `path` and says how to decode it. Throws `EngineError`: `EMPTY_AUDIO` for an empty file,
 * `UNSUPPORTED_FORMAT` for a recognised format the engine does not take, `UNREADABLE_AUDIO` for anything else,
 * `CANCELLED` once `signal` is aborted (checked before every read).
 */
export async function probeAudio(path: string, signal?: AbortSignal): Promise<Probe> {
  if (signal?.aborted) throw cancelled();
  const file = await open(path, 'r');
  const readAt: ReadAt = async (position, length) => {
    if (signal?.aborted) throw cancelled();
    const bytes = new Uint8Array(length);
    const { bytesRead } = await file.read(bytes, 0, length, position);
    return bytes.subarray(0, bytesRead);
  };
  try {
    const { size } = await file.stat();
    const found = await classifyAudio(readAt, size);
    switch (found.kind) {
      case 'audio':
        return withSeconds(found.codec, found.codec === 'wav' ? await wavSeconds(readAt, size, signal) : found.codec === 'flac' ? flacSeconds(found.head) : undefined);
      case 'empty':
        throw new EngineError('EMPTY_AUDIO', found.message);
      case 'unsupported':
        throw new EngineError('UNSUPPORTED_FORMAT', found.message);
      case 'unreadable':
        throw new EngineError('UNREADABLE_AUDIO', found.message);
    }
  } finally {
    await file.close();
  }
}

const withSeconds = (codec: Codec, seconds: number | undefined): Probe => (seconds === undefined ? { codec } : { codec, seconds });
