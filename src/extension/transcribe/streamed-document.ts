/**
 * The transcript document of a streamed transcription (protocol/stream.ts), as pure text: a status line at its top
 * while the receipt is pending, then the segments so far in the chosen format, each new one appended as a piece. The
 * pieces are the very cues and lines the finished document holds (one renderer: protocol/subtitles.ts and
 * transcript-markdown.ts), and once the receipt verified the document becomes `renderTranscriptDocument` of the
 * verified transcript (`streamedTranscript`), header included. If the stream fails, the status line says why.
 */
import type { ParsedTranscript } from '../../core/transport/transcribe.js';
import type { StreamedSegment } from '../../core/transport/transcribe-stream.js';
import { MARKDOWN_TRANSCRIPT_HEADING, markdownSegmentLine } from '../../core/transcript-markdown.js';
import { escapeMarkdown } from '../../core/util/markdown.js';
import { deltaText } from '../../protocol/stream.js';
import { srtCue, toSrt, toVtt, VTT_HEADER, vttCue } from '../../protocol/subtitles.js';
import { oneLine } from '../../shared/text.js';
import type { DocumentFormat } from '../settings/model.js';

/** Where a streamed document stands before its normal header replaces the status line. */
export type StreamedState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'cancelled' };

/** The first line of a streamed document that is not (or not yet) verified; no newline. */
export function streamedStatusLine(format: DocumentFormat, state: StreamedState): string {
  const line = statusText(state);
  return format === 'markdown' ? `> **${escapeMarkdown(line)}**` : line;
}

function statusText(state: StreamedState): string {
  switch (state.kind) {
    case 'pending':
      return 'BlindBox: UNVERIFIED, receipt pending. The text below is shown as the server sends it; no enclave has signed for it yet.';
    case 'refused':
      return `BlindBox: NOT VERIFIED (${oneLine(state.code, 64)}): ${oneLine(state.message, 400)} The text below is not the enclave's signed transcript.`;
    case 'cancelled':
      return 'BlindBox: cancelled, not verified. The text below came before the cancel; no enclave signed for it.';
  }
}

/** The document as it opens, at the first segment: the pending line, then what the format puts before its first segment, then that segment. */
export function streamedStart(format: DocumentFormat, first: StreamedSegment): string {
  const before = { text: '', srt: '', vtt: `${VTT_HEADER}\n`, markdown: `${MARKDOWN_TRANSCRIPT_HEADING}\n\n` }[format];
  return `${streamedStatusLine(format, { kind: 'pending' })}\n\n${before}${streamedPiece(format, first)}`;
}

/** The text appended for `segment`: the next cue, line or words, with what separates it from the one before. */
export function streamedPiece(format: DocumentFormat, segment: StreamedSegment): string {
  const after = segment.index > 0 ? '\n' : '';
  switch (format) {
    case 'text':
      return deltaText(segment.index, segment.text);
    case 'srt':
      return after + srtCue(segment, segment.index);
    case 'vtt':
      return after + vttCue(segment);
    case 'markdown':
      return `${markdownSegmentLine(segment, segment.end >= 3600)}\n`;
  }
}

/**
 * The verified streamed transcript (its signed body is the text) as the chosen format's renderer takes it: subtitles
 * rendered from its segments as the server renders them for `srt` and `vtt`; text and Markdown as they are.
 */
export function streamedTranscript(result: ParsedTranscript, format: DocumentFormat): ParsedTranscript {
  const segments = result.segments ?? [];
  if (format === 'srt') return { ...result, body: toSrt(segments) };
  if (format === 'vtt') return { ...result, body: toVtt(segments) };
  return result;
}
