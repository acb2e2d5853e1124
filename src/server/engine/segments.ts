/**
 * Timed words into a transcript whose segments read like subtitles (a phrase or a sentence, as Whisper's are) rather
 * than one segment per word: a segment ends at a pause, or at a breath once it is long, or at 10 s.
 */
import type { Segment } from '../../protocol/transcript.js';
import type { Transcript } from './engine.js';

export interface Word {
  readonly word: string;
  /** Seconds from the start of the recording. */
  readonly start: number;
  readonly end: number;
}

/** A silence this long between two words starts a new segment. */
export const PAUSE_SECONDS = 0.3;
/** Past this length, any silence the recogniser marked (a breath between sentences) ends the segment... */
export const LONG_SEGMENT_SECONDS = 4;
const BREATH_SECONDS = 0.05;
/** ...and past this one, the next word boundary does. */
export const MAX_SEGMENT_SECONDS = 10;

/**
 * Groups words into segments as they come: a segment is closed by the first word that does not belong to it, so each
 * one is known as soon as the next word is (what a streamed transcription sends). Segments are clamped to
 * [0, `duration`], ordered and non-overlapping; `duration` may be given only at `end` when it is not known before.
 */
export class SegmentBuilder {
  readonly segments: Segment[] = [];
  #current: Word[] = [];
  #duration: number;

  constructor(duration = Infinity) {
    this.#duration = duration;
  }

  /** Adds the next word; returns the segment it closes, if any. */
  push(word: Word): Segment | undefined {
    const current = this.#current;
    const last = current.at(-1);
    let closed: Segment | undefined;
    if (last) {
      const gap = word.start - last.end;
      const length = last.end - current[0]!.start;
      if (gap >= PAUSE_SECONDS || (gap >= BREATH_SECONDS && length >= LONG_SEGMENT_SECONDS) || word.end - current[0]!.start > MAX_SEGMENT_SECONDS) closed = this.#close();
    }
    this.#current.push(word);
    return closed;
  }

  /** Ends the words (the recording lasted `duration` s, if not given before); returns the last segment, if any. */
  end(duration = this.#duration): Segment | undefined {
    this.#duration = duration;
    return this.#close();
  }

  #close(): Segment | undefined {
    const current = this.#current;
    if (current.length === 0) return undefined;
    this.#current = [];
    const previousEnd = this.segments.at(-1)?.end ?? 0;
    const start = clamp(current[0]!.start, previousEnd, this.#duration);
    const segment = { start, end: clamp(current.at(-1)!.end, start, this.#duration), text: current.map((w) => w.word).join(' ') };
    this.segments.push(segment);
    return segment;
  }
}

/** Groups ordered words into segments (see `SegmentBuilder`). */
export function segmentWords(words: readonly Word[], duration: number): Segment[] {
  const builder = new SegmentBuilder(duration);
  for (const word of words) builder.push(word);
  builder.end();
  return builder.segments;
}

/** The transcript of `words` in a recording of `duration` seconds. */
export function transcriptOf(words: readonly Word[], duration: number, language: string): Transcript {
  return transcriptOfSegments(segmentWords(words, duration), duration, language, words);
}

/**
 * The transcript made of `segments` and `words` (clamped as segments are: ordered, within the audio): its text is the
 * segments', joined by spaces (as a stream's deltas join).
 */
export function transcriptOfSegments(segments: readonly Segment[], duration: number, language: string, words: readonly Word[]): Transcript {
  const timed: Word[] = [];
  for (const { word, start, end } of words) {
    const from = clamp(start, timed.at(-1)?.end ?? 0, duration);
    timed.push({ word, start: from, end: clamp(end, from, duration) });
  }
  return { text: segments.map((s) => s.text).join(' '), segments, duration, language, words: timed };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}
