/**
 * The streamed transcript document, as text: the pending line, each segment appended as the piece the finished
 * document holds (so that, once verified, the document equals a whole transcript's), and the line that says a stream
 * was refused or cancelled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTranscript } from '../../../src/core/index.js';
import { receiptStatusLine } from '../../../src/core/transcript-markdown.js';
import type { StreamedSegment } from '../../../src/core/transport/transcribe-stream.js';
import type { ParsedTranscript } from '../../../src/core/transport/transcribe.js';
import { toSrt, toVtt } from '../../../src/protocol/subtitles.js';
import { renderTranscriptDocument, type TranscriptProvenance } from '../../../src/extension/transcribe/document.js';
import { streamedPiece, streamedStart, streamedStatusLine, streamedTranscript } from '../../../src/extension/transcribe/streamed-document.js';
import { streamedFraction, streamedLine } from '../../../src/extension/transcribe/progress.js';
import { DOCUMENT_FORMATS } from '../../../src/extension/settings/model.js';

const P: TranscriptProvenance = {
  sourceName: 'talk.wav',
  server: 'https://enclave.example:8443',
  moduleId: 'i-0123-enc0456',
  pcr0: 'ab'.repeat(48),
  verifiedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  policyName: 'production',
  simulation: false,
  receipt: receiptStatusLine('cd'.repeat(32), 'i-0123-enc0456'),
};

/** Segments as a stream tells them, with server text that would be markup in Markdown and a cue marker in subtitles. */
const SEGMENTS: StreamedSegment[] = [
  { index: 0, text: 'Hello world.', delta: 'Hello world.', start: 0, end: 2.4 },
  { index: 1, text: '<b>bold</b> [x](https://evil.example)', delta: ' <b>bold</b> [x](https://evil.example)', start: 2.4, end: 5.1 },
  { index: 2, text: 'a --> b', delta: ' a --> b', start: 6, end: 9.75 },
];

/** The transcript `transcribeStream` resolves with for these segments: the text the receipt binds, and the segments. */
function verifiedStream(segments: readonly StreamedSegment[]): ParsedTranscript {
  const text = segments.map((s) => (s.index === 0 ? s.text : ` ${s.text}`)).join('');
  return { ...parseTranscript('text', text), segments: segments.map(({ start, end, text }) => ({ start, end, text })) };
}

/** What the document holds once every segment came: opened with the first, the others appended. */
function filled(format: (typeof DOCUMENT_FORMATS)[number], segments: readonly StreamedSegment[]): string {
  return streamedStart(format, segments[0]!) + segments.slice(1).map((s) => streamedPiece(format, s)).join('');
}

describe('streamed transcript documents', () => {
  it('each format: opens with the pending line and fills with exactly the segments the verified document shows, in order', () => {
    for (const format of DOCUMENT_FORMATS) {
      const pending = streamedStatusLine(format, { kind: 'pending' });
      const content = filled(format, SEGMENTS);
      assert.ok(content.startsWith(`${pending}\n\n`), format);
      const body = content.slice(pending.length + 2);
      const finished = renderTranscriptDocument(format, streamedTranscript(verifiedStream(SEGMENTS), format), P).content;
      // The finished document is the header, then what was streamed (text gains its final newline; WebVTT's first line
      // leads the file, its NOTE header after it).
      const segmentsPart = { text: `${body}\n`, markdown: body, srt: body, vtt: body.replace(/^WEBVTT\n\n/, '') }[format];
      assert.ok(finished.endsWith(segmentsPart), `${format}:\n${finished}\n---\n${body}`);
      if (format === 'vtt') assert.ok(body.startsWith('WEBVTT\n\n') && finished.startsWith('WEBVTT\n\nNOTE\n'));
      // Each piece was appended, never anything before it rewritten.
      for (let n = 1; n <= SEGMENTS.length; n++) assert.ok(content.startsWith(filled(format, SEGMENTS.slice(0, n))), format);
    }
  });

  it('the pieces are the server\'s own renderings: SRT and VTT cues as toSrt/toVtt make them, Markdown escaped', () => {
    assert.equal(filled('srt', SEGMENTS).split('\n\n').slice(1).join('\n\n'), toSrt(SEGMENTS));
    assert.equal(filled('vtt', SEGMENTS).split('\n\n').slice(1).join('\n\n'), toVtt(SEGMENTS));
    assert.equal(filled('text', SEGMENTS).split('\n\n')[1], 'Hello world. <b>bold</b> [x](https://evil.example) a --> b');
    const markdown = filled('markdown', SEGMENTS);
    assert.match(markdown, /^- `\[00:02\]` \\<b\\>bold\\<\/b\\> \\\[x\\\]\\\(https:\/\/evil\.example\\\)$/m);
    assert.equal(filled('srt', SEGMENTS).split('-->').length - 1, 3, 'a segment\'s own "-->" never makes a cue');
  });

  it('the verified SRT/VTT document is rendered from the segments, the text the receipt binds left as it is', () => {
    const result = verifiedStream(SEGMENTS);
    assert.equal(streamedTranscript(result, 'srt').body, toSrt(SEGMENTS));
    assert.equal(streamedTranscript(result, 'vtt').body, toVtt(SEGMENTS));
    assert.equal(streamedTranscript(result, 'text'), result);
    assert.equal(streamedTranscript(result, 'markdown'), result);
  });

  it('states: pending, refused with its code, cancelled; one line each, Markdown as a bold quote with the server\'s words escaped', () => {
    assert.match(streamedStatusLine('text', { kind: 'pending' }), /^BlindBox: UNVERIFIED, receipt pending\./);
    const refused = streamedStatusLine('srt', { kind: 'refused', code: 'STREAM_TEXT_MISMATCH', message: 'The segments\nare not\r\nthe text.' });
    assert.match(refused, /^BlindBox: NOT VERIFIED \(STREAM_TEXT_MISMATCH\): The segments.+the text\. The text below is not the enclave's signed transcript\.$/);
    assert.doesNotMatch(refused, /\n/);
    assert.match(streamedStatusLine('vtt', { kind: 'cancelled' }), /^BlindBox: cancelled, not verified\./);
    const md = streamedStatusLine('markdown', { kind: 'refused', code: 'RECEIPT_INVALID', message: '[click](https://evil.example) *' });
    assert.equal(md, "> **BlindBox: NOT VERIFIED \\(RECEIPT\\_INVALID\\): \\[click\\]\\(https://evil.example\\) \\* The text below is not the enclave's signed transcript.**");
  });

  it('progress: the audio time reached of the file\'s length, the bar following it short of its end', () => {
    assert.equal(streamedLine(750, 1080), '12:30 of 18:00 transcribed');
    assert.equal(streamedLine(12.4, undefined), '00:12 transcribed');
    assert.equal(streamedLine(59, 3725), '0:00:59 of 1:02:05 transcribed');
    assert.equal(streamedFraction(0, 100), 0.1);
    assert.equal(streamedFraction(50, 100), 0.55);
    assert.ok(streamedFraction(100, 100) < 1);
    assert.equal(streamedFraction(10, undefined), 0.1);
  });
});
