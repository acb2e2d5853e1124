/**
 * Groups a long recording's utterances into pieces that separate workers can decode at once, as they come: each piece
 * is handed out as soon as it is cut, so the recording is never held whole. A piece ends only at an utterance boundary
 * (where the single-worker path cuts anyway, so each piece's utterances are exactly the ones one worker would decode)
 * and only where that boundary is quiet: a boundary that the utterance splitter had to force inside speech (no pause in
 * its window) never becomes a seam between workers.
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
/** The speech level is the mean energy of the loudest tenth of frames heard so far (robust to long silences). */
const LOUD_FRACTION = 0.1;
/** A boundary is quiet when its energy is at least 30 dB under the speech level: a pause, not a soft consonant. */
const QUIET_RATIO = 10 ** (-30 / 10);
/** A piece that finds no quiet boundary by this many times `pieceSeconds` gives up its utterances to be recognised where
 * it is being cut (`PieceCutter.overflow`): audio with no pause is never held whole. */
const LONGEST_PIECE = 3;
/** Frame energies are counted in bins this wide (dB): the level is exact to within one bin, in constant memory. */
const BIN_DB = 0.1;
/** Bins from 0 dB (mean square 1) to the loudest s16 frame (90.3 dB); quieter frames share the first. */
const BINS = Math.ceil(91 / BIN_DB) + 1;

/** Mean of the squared samples (0 for none). */
function energy(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return pcm.length === 0 ? 0 : sum / pcm.length;
}

/** The speech level of the audio added so far: mean energy per sample of its loudest `LOUD_FRACTION` of 10 ms frames. */
export class SpeechLevel {
  readonly #counts = new Float64Array(BINS);
  readonly #sums = new Float64Array(BINS);
  #frames = 0;
  readonly #frame: number;

  constructor(rate: number) {
    this.#frame = Math.max(1, Math.round(rate * FRAME_SECONDS));
  }

  /** Counts the whole frames of one utterance (a frame never spans two). */
  add(pcm: Int16Array): void {
    for (let at = 0; at + this.#frame <= pcm.length; at += this.#frame) {
      const e = energy(pcm.subarray(at, at + this.#frame));
      const bin = e < 1 ? 0 : Math.min(BINS - 1, 1 + Math.floor((10 * Math.log10(e)) / BIN_DB));
      this.#counts[bin]! += 1;
      this.#sums[bin]! += e;
      this.#frames++;
    }
  }

  /** The level (0 before any frame); in the bin where the loud tenth starts, its frames count at that bin's mean. */
  value(): number {
    const loud = this.#frames - Math.floor(this.#frames * (1 - LOUD_FRACTION));
    if (loud === 0) return 0;
    let left = loud;
    let sum = 0;
    for (let bin = BINS - 1; bin >= 0 && left > 0; bin--) {
      const take = Math.min(left, this.#counts[bin]!);
      if (take > 0) sum += (this.#sums[bin]! / this.#counts[bin]!) * take;
      left -= take;
    }
    return sum / loud;
  }
}

/** The speech level of `utterances` (see `SpeechLevel`). */
export function speechLevel(utterances: readonly Utterance[], rate: number): number {
  const level = new SpeechLevel(rate);
  for (const { pcm } of utterances) level.add(pcm);
  return level.value();
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
 * Takes consecutive utterances (in order, as the splitter gives them) and hands out pieces of about `pieceSeconds`,
 * cut only at quiet boundaries, judged against the speech level heard so far. It holds only the piece being filled.
 */
export class PieceCutter {
  readonly #level: SpeechLevel;
  readonly #target: number;
  #current: Utterance[] = [];
  #length = 0;
  readonly #options: PieceOptions;

  constructor(options: PieceOptions) {
    this.#options = options;
    if (!(options.pieceSeconds > 0)) throw new RangeError('pieceSeconds must be positive');
    this.#level = new SpeechLevel(options.rate);
    this.#target = options.pieceSeconds * options.rate;
  }

  /** Adds the next utterance; returns the piece it closes, if it starts a new one. */
  push(utterance: Utterance): Utterance[] | undefined {
    this.#level.add(utterance.pcm);
    const previous = this.#current.at(-1);
    let done: Utterance[] | undefined;
    // Close the piece when the next utterance would overshoot the target by more than the piece falls short of it.
    if (previous && this.#length + utterance.pcm.length - this.#target > this.#target - this.#length && isQuietBoundary(previous, utterance, this.#level.value(), this.#options.rate)) {
      done = this.#current;
      this.#current = [];
      this.#length = 0;
    }
    this.#current.push(utterance);
    this.#length += utterance.pcm.length;
    return done;
  }

  /**
   * The utterances of the piece being filled but its last (which the next boundary is judged against) once it is past
   * `LONGEST_PIECE` × `pieceSeconds` without a quiet boundary; none otherwise. They are to be recognised by whoever
   * cuts: they form no seam, and the piece goes on with the last.
   */
  overflow(): Utterance[] {
    if (this.#length <= LONGEST_PIECE * this.#target || this.#current.length < 2) return [];
    const last = this.#current.pop()!;
    const out = this.#current;
    this.#current = [last];
    this.#length = last.pcm.length;
    return out;
  }

  /** Ends the recording: the last piece, if any utterance is left. */
  end(): Utterance[] | undefined {
    const last = this.#current.length > 0 ? this.#current : undefined;
    this.#current = [];
    this.#length = 0;
    return last;
  }
}

/**
 * Consecutive `utterances` grouped into pieces as `PieceCutter` cuts them. Every utterance is in exactly one piece, in
 * order; with no quiet boundary there is one piece.
 */
export function groupIntoPieces(utterances: readonly Utterance[], options: PieceOptions): Utterance[][] {
  const cutter = new PieceCutter(options);
  const pieces = utterances.map((u) => cutter.push(u)).filter((p): p is Utterance[] => p !== undefined);
  const last = cutter.end();
  return last ? [...pieces, last] : pieces;
}
