/**
 * A FLAC file's duration from its STREAMINFO block, which the format puts first, right after `fLaC`: so that a file
 * that says it holds more than the limit is refused before it takes a worker, whatever its size (FLAC packs a block
 * of 65,535 silent samples into about 12 bytes). Pure: `probe.ts` reads the bytes.
 */
import { flacStreamInfo } from '../../../protocol/audio-format.js';

/**
 * The duration STREAMINFO states, in seconds, or undefined when it states none: a total of 0 means "unknown" (a
 * streaming encoder's output) and a malformed block is left for the decoder to refuse. `head` starts at `fLaC`.
 */
export function flacSeconds(head: Uint8Array): number | undefined {
  const info = flacStreamInfo(head);
  return info === undefined || info.rate === 0 || info.totalSamples === 0 ? undefined : info.totalSamples / info.rate;
}
