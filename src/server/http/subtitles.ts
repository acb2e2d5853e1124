/**
 * Subtitle renderings of timed segments: the server's `srt` and `vtt` response formats. Server-only: a client
 * receives subtitles already rendered (the extension's transcript documents show the server's SRT/VTT as they are).
 */
import type { Segment } from '../../protocol/transcript.js';

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
  return segments.map((s, i) => `${i + 1}\n${timestamp(s.start, ',')} --> ${timestamp(s.end, ',')}\n${oneLine(s.text)}\n`).join('\n');
}

/** WebVTT: header, then cues with a dot before milliseconds. */
export function toVtt(segments: readonly Segment[]): string {
  return ['WEBVTT\n', ...segments.map((s) => `${timestamp(s.start, '.')} --> ${timestamp(s.end, '.')}\n${oneLine(s.text)}\n`)].join('\n');
}

/** Cue text must not contain blank lines or the `-->` marker. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replaceAll('-->', '→').trim();
}
