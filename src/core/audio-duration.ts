/**
 * How long audio lasts, from its header alone, where the header states it: WAV (the `fmt ` chunk's byte rate and the
 * `data` chunk's size) and FLAC (STREAMINFO's sample count and rate). MP3 and Ogg state no length up front (only reading
 * the whole stream would tell): undefined, and whoever estimates a wait says it cannot. Nothing is decoded.
 */
import { flacStreamInfo } from '../protocol/audio-format.js';

/** Bytes read from the start of a file to find its length (a WAV's chunks before `data` are small). */
export const DURATION_HEAD_BYTES = 4096;

/** Seconds of audio in a file of `size` bytes starting with `head`, or undefined when its header does not say. */
export function audioDurationSeconds(head: Uint8Array, size: number): number | undefined {
  const text = (at: number, n: number) => String.fromCharCode(...head.subarray(at, at + n));
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (text(0, 4) === 'RIFF' && text(8, 4) === 'WAVE') {
    let byteRate: number | undefined;
    for (let at = 12; at + 8 <= head.length; ) {
      const id = text(at, 4);
      const length = view.getUint32(at + 4, true);
      const body = at + 8;
      if (id === 'fmt ' && body + 12 <= head.length) byteRate = view.getUint32(body + 8, true);
      if (id === 'data') {
        // A recorder still writing (or streaming) leaves the size 0 or 0xFFFFFFFF: the rest of the file is the data.
        const data = length === 0 || length === 0xffffffff ? size - body : Math.min(length, size - body);
        return byteRate ? data / byteRate : undefined;
      }
      at = body + length + (length % 2);
    }
    return undefined;
  }
  if (text(0, 4) === 'fLaC') {
    const info = flacStreamInfo(head);
    return info && info.rate > 0 && info.totalSamples > 0 ? info.totalSamples / info.rate : undefined;
  }
  return undefined;
}

/** `audioDurationSeconds` of a Blob (a file on disk is read only at its start). */
export async function blobDurationSeconds(blob: Blob): Promise<number | undefined> {
  return audioDurationSeconds(new Uint8Array(await blob.slice(0, DURATION_HEAD_BYTES).arrayBuffer()), blob.size);
}
