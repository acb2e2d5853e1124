/**
 * PocketSphinx's word segmentation as timed words: fillers (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`) dropped and
 * pronunciation variants (`with(2)`) named by their word.
 */
import type { Word } from '../segments.js';

/** The addon's flat segment list: word, first frame, last frame (inclusive), repeated. */
export type RawSegments = readonly (string | number)[];

/** PocketSphinx's frame rate at its default `-frate 100`. */
export const FRAMES_PER_SECOND = 100;

const FILLER = /^(?:<.*>|\[.*\]|\+\+.*\+\+)$/;
const VARIANT = /\(\d+\)$/;

/** The words of one utterance that started `offsetSeconds` into the recording. */
export function timedWords(segments: RawSegments, offsetSeconds: number): Word[] {
  const words: Word[] = [];
  for (let i = 0; i + 2 < segments.length; i += 3) {
    const word = String(segments[i]);
    if (FILLER.test(word)) continue;
    const first = Number(segments[i + 1]);
    const last = Number(segments[i + 2]);
    words.push({ word: word.replace(VARIANT, ''), start: offsetSeconds + first / FRAMES_PER_SECOND, end: offsetSeconds + (last + 1) / FRAMES_PER_SECOND });
  }
  return words;
}
