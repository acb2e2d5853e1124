/**
 * A FLAC file's duration from its STREAMINFO block, which the format puts first, right after `fLaC`: so that a file
 * that says it holds more than the limit is refused before it takes a worker, whatever its size (FLAC packs a block
 * of 65,535 silent samples into about 12 bytes). Pure: `probe.ts` reads the bytes.
 */

/** Bytes from `fLaC` to the end of STREAMINFO's total-samples field. */
export const FLAC_HEAD_BYTES = 26;

/**
 * The duration STREAMINFO states, in seconds, or undefined when it states none: a total of 0 means "unknown" (a
 * streaming encoder's output) and a malformed block is left for the decoder to refuse. `head` starts at `fLaC`.
 */
export function flacSeconds(head: Uint8Array): number | undefined {
  if (head.length < FLAC_HEAD_BYTES) return undefined;
  const type = head[4]! & 0x7f;
  const length = (head[5]! << 16) | (head[6]! << 8) | head[7]!;
  if (type !== 0 || length < 34) return undefined; // not STREAMINFO
  // After the block and frame size bounds (10 bytes): 20 bits of sample rate, 3 of channels, 5 of depth, 36 of total.
  const rate = (head[18]! << 12) | (head[19]! << 4) | (head[20]! >> 4);
  const total = (head[21]! & 0x0f) * 2 ** 32 + ((head[22]! << 24) >>> 0) + (head[23]! << 16) + (head[24]! << 8) + head[25]!;
  return rate === 0 || total === 0 ? undefined : total / rate;
}
