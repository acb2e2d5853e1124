/**
 * Subtitle renderings of timed segments: the server's `srt` and `vtt` response formats, and the extension's streamed
 * SRT/VTT documents, which render the same cues one at a time as the segments arrive.
 */
import type { Segment } from './transcript.js';

/** `HH:MM:SS<sep>mmm`. */
export function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** SubRip: numbered cues, comma before milliseconds. */
export function toSrt(segments: readonly Segment[]): string {
  return segments.map((s, i) => srtCue(s, i)).join('\n');
}

/** The `index`-th (from 0) SubRip cue, ending with its newline; cues are joined by a blank line. */
export function srtCue(s: Segment, index: number): string {
  return `${index + 1}\n${timestamp(s.start, ',')} --> ${timestamp(s.end, ',')}\n${oneLine(s.text)}\n`;
}

/** The first line of a WebVTT file, ending with its newline. */
export const VTT_HEADER = 'WEBVTT\n';

/** WebVTT: header, then cues with a dot before milliseconds. */
export function toVtt(segments: readonly Segment[]): string {
  return [VTT_HEADER, ...segments.map(vttCue)].join('\n');
}

/** One WebVTT cue, ending with its newline; cues (and the header) are joined by a blank line. */
export function vttCue(s: Segment): string {
  return `${timestamp(s.start, '.')} --> ${timestamp(s.end, '.')}\n${oneLine(s.text)}\n`;
}

/** Cue text must not contain blank lines or the `-->` marker. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replaceAll('-->', '→').trim();
}
