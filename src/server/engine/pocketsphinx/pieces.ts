/**
 * Groups a long recording's utterances into pieces that separate workers can decode at once. A piece ends only at an
 * utterance boundary (where the single-worker path cuts anyway, so each piece's utterances are exactly the ones one
 * worker would decode) and only where that boundary is quiet: a boundary that the utterance splitter had to force
 * inside speech (no pause in its window) never becomes a seam between workers.
 */
import type { Utterance } from './utterances.js';

export interface PieceOptions {
  /** Samples per second. */
  readonly rate: number;
  /** A piece is closed at the first quiet boundary once adding the next utterance would take it past this. */
  readonly pieceSeconds: number;
}

/** The quietness of a boundary is judged over this much audio on each side of it. */
const BOUNDARY_SECONDS = 0.1;
/** Loudness is measured per 10 ms frame, the recogniser's frame rate. */
const FRAME_SECONDS = 0.01;
/** The recording's speech level is the mean energy of its loudest tenth of frames (robust to long silences). */
const LOUD_FRACTION = 0.1;
/** A boundary is quiet when its energy is at least 30 dB under the speech level: a pause, not a soft consonant. */
const QUIET_RATIO = 10 ** (-30 / 10);

/** Mean of the squared samples (0 for none). */
function energy(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return pcm.length === 0 ? 0 : sum / pcm.length;
}

/** The speech level of `utterances` (mean energy per sample of their loudest `LOUD_FRACTION` of 10 ms frames). */
export function speechLevel(utterances: readonly Utterance[], rate: number): number {
  const frame = Math.max(1, Math.round(rate * FRAME_SECONDS));
  const frames: number[] = [];
  for (const { pcm } of utterances) for (let at = 0; at + frame <= pcm.length; at += frame) frames.push(energy(pcm.subarray(at, at + frame)));
  if (frames.length === 0) return 0;
  const sorted = Float64Array.from(frames).sort();
  const loud = sorted.subarray(Math.floor(sorted.length * (1 - LOUD_FRACTION)));
  return loud.reduce((s, e) => s + e, 0) / loud.length;
}

/** Whether the boundary between `before` and `after` is a pause: the audio ±`BOUNDARY_SECONDS` around it is quiet. */
export function isQuietBoundary(before: Utterance, after: Utterance, level: number, rate: number): boolean {
  const side = Math.round(rate * BOUNDARY_SECONDS);
  const left = before.pcm.subarray(Math.max(0, before.pcm.length - side));
  const right = after.pcm.subarray(0, side);
  const mean = (energy(left) * left.length + energy(right) * right.length) / Math.max(1, left.length + right.length);
  return mean <= level * QUIET_RATIO;
}

/**
 * Consecutive `utterances` (in order, as the splitter gave them) grouped into pieces of about `pieceSeconds`, cut only
 * at quiet boundaries. Every utterance is in exactly one piece, in order; with no quiet boundary there is one piece.
 */
export function groupIntoPieces(utterances: readonly Utterance[], options: PieceOptions): Utterance[][] {
  if (!(options.pieceSeconds > 0)) throw new RangeError('pieceSeconds must be positive');
  const target = options.pieceSeconds * options.rate;
  const level = speechLevel(utterances, options.rate);
  const pieces: Utterance[][] = [];
  let current: Utterance[] = [];
  let length = 0;
  for (const utterance of utterances) {
    const previous = current.at(-1);
    // Close the piece when the next utterance would overshoot the target by more than the piece falls short of it.
    if (previous && length + utterance.pcm.length - target > target - length && isQuietBoundary(previous, utterance, level, options.rate)) {
      pieces.push(current);
      current = [];
      length = 0;
    }
    current.push(utterance);
    length += utterance.pcm.length;
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}
