/**
 * Cuts a long recording into utterances for PocketSphinx, which decodes one utterance per call and holds all of its
 * search state meanwhile: memory stays bounded and results come in order. Cuts fall at the quietest moment of the
 * allowed window, so that, in speech with pauses, no word is split.
 */

export interface Utterance {
  /** Offset of the first sample in the whole recording. */
  readonly start: number;
  readonly pcm: Int16Array;
}

export interface UtteranceOptions {
  /** Samples per second. */
  readonly rate: number;
  /** An utterance is cut once this long (seconds). */
  readonly maxSeconds: number;
  /** ...at the quietest point after this many seconds. */
  readonly minSeconds: number;
}

/** Quietness is judged over this window (a pause between words is 100–300 ms). */
const WINDOW_SECONDS = 0.2;
/** Energies are taken per 10 ms frame, the recogniser's own frame rate. */
const FRAME_SECONDS = 0.01;

/**
 * Where to cut `pcm` (a sample index in [min, max]): the end of the quietest `WINDOW_SECONDS` in that range, rounded to
 * a frame. Returns `max` when the range is too short to choose.
 */
export function quietestCut(pcm: Int16Array, min: number, max: number, rate: number): number {
  const frame = Math.max(1, Math.round(rate * FRAME_SECONDS));
  const window = Math.max(1, Math.round(WINDOW_SECONDS / FRAME_SECONDS));
  const frames = Math.floor((max - min) / frame);
  if (frames <= window) return max;
  const energy = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let i = min + f * frame, end = i + frame; i < end; i++) sum += pcm[i]! * pcm[i]!;
    energy[f] = sum;
  }
  let windowSum = 0;
  for (let f = 0; f < window; f++) windowSum += energy[f]!;
  let best = window;
  let bestSum = windowSum;
  for (let f = window; f < frames; f++) {
    windowSum += energy[f]! - energy[f - window]!;
    if (windowSum < bestSum) [best, bestSum] = [f + 1, windowSum];
  }
  // Cut in the middle of the quiet window, so that both sides keep a little silence.
  return min + (best - Math.floor(window / 2)) * frame;
}

/** Collects samples as they come and hands out utterances of at most `maxSeconds`, in order. */
export class UtteranceSplitter {
  #buffer: Int16Array;
  #length = 0;
  #start = 0;
  readonly #max: number;
  readonly #min: number;
  readonly #rate: number;

  constructor(options: UtteranceOptions) {
    this.#rate = options.rate;
    if (!(options.minSeconds > 0 && options.minSeconds < options.maxSeconds)) throw new RangeError('need 0 < minSeconds < maxSeconds');
    this.#max = Math.round(options.maxSeconds * options.rate);
    this.#min = Math.round(options.minSeconds * options.rate);
    this.#buffer = new Int16Array(this.#max);
  }

  /** Adds samples; returns the utterances they complete (usually none, at most a few). */
  push(pcm: Int16Array): Utterance[] {
    const done: Utterance[] = [];
    for (let at = 0; at < pcm.length; ) {
      const take = Math.min(pcm.length - at, this.#max - this.#length);
      this.#buffer.set(pcm.subarray(at, at + take), this.#length);
      this.#length += take;
      at += take;
      if (this.#length === this.#max) done.push(this.#cut(quietestCut(this.#buffer, this.#min, this.#max, this.#rate)));
    }
    return done;
  }

  /** Ends the recording: the last utterance, if any samples are left. */
  end(): Utterance | undefined {
    return this.#length > 0 ? this.#cut(this.#length) : undefined;
  }

  #cut(at: number): Utterance {
    const utterance = { start: this.#start, pcm: this.#buffer.slice(0, at) };
    this.#buffer.copyWithin(0, at, this.#length);
    this.#length -= at;
    this.#start += at;
    return utterance;
  }
}
