/**
 * The pure parts between the recogniser and a transcript: utterance cutting, PocketSphinx's word list, segment
 * grouping, and language names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { languageTag } from '../../../src/server/engine/language-tag.js';
import { quietestCut, UtteranceSplitter, type Utterance } from '../../../src/server/engine/split/utterances.js';
import { timedWords } from '../../../src/server/engine/pocketsphinx/words.js';
import { segmentWords, transcriptOf, type Word } from '../../../src/server/engine/segments.js';

const RATE = 1000; // 10 samples a frame: small arrays, same arithmetic

/** Loud "speech" with silent gaps at the given [start, end) seconds. */
function speechWithGaps(seconds: number, gaps: [number, number][]): Int16Array {
  return Int16Array.from({ length: seconds * RATE }, (_, i) => (gaps.some(([a, b]) => i >= a * RATE && i < b * RATE) ? 0 : i % 2 ? 8000 : -8000));
}

describe('utterances', () => {
  it('cuts in the middle of the quietest stretch of the allowed window', () => {
    const pcm = speechWithGaps(30, [[4, 4.4], [17, 17.6], [25, 25.3]]);
    const cut = quietestCut(pcm, 10 * RATE, 30 * RATE, RATE);
    assert.ok(cut >= 17 * RATE && cut <= 17.6 * RATE, `cut at ${cut / RATE} s`);
  });
  it('hands out utterances in order that add up to the recording, none longer than the maximum', () => {
    const pcm = speechWithGaps(70, [[12, 12.5], [31, 31.4], [47, 47.5], [61, 61.3]]);
    const splitter = new UtteranceSplitter({ rate: RATE, minSeconds: 10, maxSeconds: 20 });
    const utterances: Utterance[] = [];
    for (let at = 0; at < pcm.length; at += 777) utterances.push(...splitter.push(pcm.subarray(at, at + 777)));
    utterances.push(splitter.end()!);
    assert.equal(splitter.end(), undefined);
    let next = 0;
    for (const u of utterances) {
      assert.equal(u.start, next);
      assert.ok(u.pcm.length <= 20 * RATE);
      assert.deepEqual(u.pcm, pcm.subarray(u.start, u.start + u.pcm.length));
      next += u.pcm.length;
    }
    assert.equal(next, pcm.length);
    // Every cut but the last fell in a gap.
    for (const u of utterances.slice(1)) assert.equal(pcm[u.start], 0, `cut at ${u.start / RATE} s is not in a gap`);
  });
});

describe('timedWords', () => {
  it('drops fillers, names variants by their word, and turns inclusive 10 ms frames into seconds from the recording start', () => {
    const raw = ['<s>', 0, 14, 'the', 15, 26, '<sil>', 27, 40, 'with(2)', 41, 60, '[NOISE]', 61, 70, "don't", 71, 99, '</s>', 100, 110];
    assert.deepEqual(timedWords(raw, 30), [
      { word: 'the', start: 30.15, end: 30.27 },
      { word: 'with', start: 30.41, end: 30.61 },
      { word: "don't", start: 30.71, end: 31 },
    ]);
  });
});

describe('segments', () => {
  const w = (word: string, start: number, end: number): Word => ({ word, start, end });

  it('starts a segment at a pause, and at a breath once the segment is long', () => {
    const words = [w('one', 0.1, 0.5), w('two', 0.5, 1), w('three', 1.4, 2), w('four', 2, 5.2), w('five', 5.2, 5.6), w('six', 5.7, 6)];
    assert.deepEqual(
      segmentWords(words, 7).map((s) => s.text),
      ['one two', 'three four five', 'six'],
    );
  });
  it('closes a segment that would pass 10 s at a word boundary', () => {
    const words = Array.from({ length: 30 }, (_, i) => w(`w${i}`, i * 0.5, i * 0.5 + 0.5));
    const segments = segmentWords(words, 15);
    assert.ok(segments.length >= 2 && segments.every((s) => s.end - s.start <= 10));
  });
  it('keeps segments ordered, non-overlapping and within the audio', () => {
    const transcript = transcriptOf([w('early', -0.2, 0.3), w('late', 0.2, 9)], 8.5, 'en');
    assert.deepEqual(transcript, { text: 'early late', segments: [{ start: 0, end: 8.5, text: 'early late' }], duration: 8.5, language: 'en', words: [w('early', 0, 0.3), w('late', 0.3, 8.5)] });
    assert.deepEqual(transcriptOf([], 3, 'en'), { text: '', segments: [], duration: 3, language: 'en', words: [] });
  });
});

describe('languageTag', () => {
  it("maps Whisper's language names to tags and keeps tags", () => {
    assert.equal(languageTag('english'), 'en');
    assert.equal(languageTag('German'), 'de');
    assert.equal(languageTag('haitian creole'), 'ht');
    assert.equal(languageTag('myanmar'), 'my');
    assert.equal(languageTag('en'), 'en');
    assert.equal(languageTag('klingon'), 'klingon');
  });
});
