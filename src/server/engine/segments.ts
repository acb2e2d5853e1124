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

/** Groups ordered words into segments, clamped to [0, `duration`], ordered and non-overlapping. */
export function segmentWords(words: readonly Word[], duration: number): Segment[] {
  const segments: Segment[] = [];
  let current: Word[] = [];
  const close = () => {
    if (current.length === 0) return;
    const previousEnd = segments.at(-1)?.end ?? 0;
    const start = clamp(current[0]!.start, previousEnd, duration);
    segments.push({ start, end: clamp(current.at(-1)!.end, start, duration), text: current.map((w) => w.word).join(' ') });
    current = [];
  };
  for (const word of words) {
    const last = current.at(-1);
    if (last) {
      const gap = word.start - last.end;
      const length = last.end - current[0]!.start;
      if (gap >= PAUSE_SECONDS || (gap >= BREATH_SECONDS && length >= LONG_SEGMENT_SECONDS) || word.end - current[0]!.start > MAX_SEGMENT_SECONDS) close();
    }
    current.push(word);
  }
  close();
  return segments;
}

/** The transcript of `words` in a recording of `duration` seconds. */
export function transcriptOf(words: readonly Word[], duration: number, language: string): Transcript {
  const segments = segmentWords(words, duration);
  return { text: segments.map((s) => s.text).join(' '), segments, duration, language };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}
