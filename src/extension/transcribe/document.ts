/**
 * The editor document a transcript opens in: the text in the chosen format,
 * headed by where it came from (file, server, enclave module, PCR0, when the
 * server was verified). Everything from the server or the file name is
 * escaped for Markdown and kept out of subtitle cue syntax.
 */
import type { TranscriptFormat } from '../../protocol/transcript.js';
import type { ParsedTranscript } from '../../core/transport/transcribe.js';
import { oneLine } from '../../shared/text.js';
import { markdownTranscript, type TranscriptProvenance } from '../../core/transcript-markdown.js';
import type { DocumentFormat } from '../settings/model.js';

export { formatClock, type TranscriptProvenance } from '../../core/transcript-markdown.js';

/** What the server is asked for, per document format: Markdown is built from timed segments. */
export function wireFormat(format: DocumentFormat): TranscriptFormat {
  return format === 'markdown' ? 'verbose_json' : format;
}

/** The language id of the new document; subtitle ids only when an installed extension knows them. */
export function documentLanguage(format: DocumentFormat, known: readonly string[] = []): string {
  if (format === 'markdown') return 'markdown';
  if (format === 'srt' && known.includes('srt')) return 'srt';
  if (format === 'vtt') return ['vtt', 'webvtt'].find((id) => known.includes(id)) ?? 'plaintext';
  return 'plaintext';
}

export interface TranscriptDocument {
  readonly content: string;
  readonly language: string;
}

export function renderTranscriptDocument(format: DocumentFormat, result: ParsedTranscript, p: TranscriptProvenance, knownLanguages: readonly string[] = []): TranscriptDocument {
  const language = documentLanguage(format, knownLanguages);
  switch (format) {
    case 'text':
      return { language, content: `${headerLines(p).join('\n')}\n\n${result.text}\n` };
    case 'markdown':
      return { language, content: markdownTranscript(result, p) };
    case 'vtt':
      return { language, content: vttWithNote(result.body, p) };
    case 'srt':
      return { language, content: srtWithCue(result.body, p) };
  }
}

function headerLines(p: TranscriptProvenance): string[] {
  return [
    `Transcript of ${oneLine(p.sourceName)}`,
    `Server: ${oneLine(p.server)}${p.simulation ? ' (SIMULATION — not confidential)' : ''}`,
    `Enclave module: ${oneLine(p.moduleId)}`,
    `PCR0: ${p.pcr0 ?? '(absent)'}`,
    `Verified: ${new Date(p.verifiedAt).toISOString()} (policy ${oneLine(p.policyName)})`,
    `Receipt ${oneLine(p.receipt)}`,
  ];
}

/**
 * SubRip has no comment syntax: the provenance is a cue of its own, numbered 0 and lasting one millisecond before the
 * speech, so that players still read the file and the SIMULATION marking travels with it.
 */
function srtWithCue(body: string, p: TranscriptProvenance): string {
  const cue = ['0', '00:00:00,000 --> 00:00:00,001', ...cueLines(p)].join('\n');
  const rest = body.replace(/\r\n/g, '\n').replace(/^\n+/, '');
  return `${cue}\n\n${rest}`.replace(/\n*$/, '\n');
}

/** The header as subtitle text: no `-->` (it would start a cue). */
function cueLines(p: TranscriptProvenance): string[] {
  return headerLines(p).map((l) => l.replaceAll('-->', '→'));
}

/** WebVTT allows NOTE blocks after the header: the provenance goes there (no blank lines, no `-->`). */
function vttWithNote(body: string, p: TranscriptProvenance): string {
  const text = body.replace(/\r\n/g, '\n');
  const note = ['NOTE', ...cueLines(p)].join('\n');
  const m = /^(WEBVTT[^\n]*)\n/.exec(text);
  const rest = m ? text.slice(m[0].length).replace(/^\n+/, '') : text.replace(/^\n+/, '');
  return `${m ? m[1] : 'WEBVTT'}\n\n${note}\n\n${rest}`.replace(/\n*$/, '\n');
}
