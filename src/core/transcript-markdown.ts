/**
 * A transcript as a Markdown document headed by where it came from: the one rendering the extension's Markdown
 * documents and `blindbox transcribe --format markdown` share. Built from the timed segments of `verbose_json`; all
 * that came from the server or a file name is escaped or in code spans.
 */
import type { ParsedTranscript, TranscriptResult } from './transport/transcribe.js';
import { codeSpan, escapeMarkdown } from './util/markdown.js';
import type { Segment } from '../protocol/transcript.js';

/** Where the transcript came from. */
export interface TranscriptProvenance {
  readonly sourceName: string;
  readonly server: string;
  readonly moduleId: string;
  readonly pcr0: string | undefined;
  /** When the attestation in force for the upload was verified (ms). */
  readonly verifiedAt: number;
  readonly policyName: string;
  readonly simulation: boolean;
  /** The receipt status line (`receiptStatusLine`): no transcript is shown without a verified receipt. */
  readonly receipt: string;
}

/** A transcript document's receipt status: `verified · audio SHA-256 1a2b3c4d5e6f7a8b… · enclave i-…`. */
export function receiptStatusLine(audioSha256: string, moduleId: string): string {
  return `verified · audio SHA-256 ${audioSha256.slice(0, 16)}… · enclave ${moduleId}`;
}

/** The provenance of a transcript received from `server` under the policy `policyName`, from what the session proved. */
export function transcriptProvenance(result: TranscriptResult, sourceName: string, server: string, policyName: string): TranscriptProvenance {
  const { attestation, simulation } = result.enclave;
  return {
    sourceName,
    server,
    moduleId: attestation.moduleId,
    pcr0: attestation.pcrs[0],
    verifiedAt: attestation.verifiedAt,
    policyName,
    simulation,
    receipt: receiptStatusLine(result.receipt.verified.content.audioSha256, result.receipt.verified.attestation.moduleId),
  };
}

/** The Markdown document: a provenance list, then one line per timed segment (or the plain text when there are none). */
export function markdownTranscript(result: ParsedTranscript, p: TranscriptProvenance): string {
  const out = [
    `# Transcript of ${escapeMarkdown(p.sourceName)}`,
    '',
    ...(p.simulation ? ['> **SIMULATION — not confidential.** The server attested with a simulation root, not AWS Nitro hardware.', ''] : []),
    `- **Server:** ${codeSpan(p.server)}`,
    `- **Enclave module:** ${codeSpan(p.moduleId)}`,
    `- **PCR0:** ${codeSpan(p.pcr0 ?? '(absent)')}`,
    `- **Verified:** ${new Date(p.verifiedAt).toISOString()} (policy ${codeSpan(p.policyName)})`,
    `- **Receipt:** ${escapeMarkdown(p.receipt)}`,
  ];
  if (result.duration !== undefined) out.push(`- **Duration:** ${formatClock(result.duration, result.duration >= 3600)}`);
  if (result.language) out.push(`- **Language:** ${codeSpan(result.language)}`);
  out.push('', MARKDOWN_TRANSCRIPT_HEADING, '');
  const segments = result.segments ?? [];
  const hours = segments.some((s) => s.end >= 3600);
  if (segments.length === 0) out.push(escapeMarkdown(result.text) || '*(no speech recognised)*');
  else for (const s of segments) out.push(markdownSegmentLine(s, hours));
  return out.join('\n') + '\n';
}

/** The heading the Markdown document's segments follow. */
export const MARKDOWN_TRANSCRIPT_HEADING = '## Transcript';

/** One timed segment's line (no newline); `hours` when any segment of the transcript reaches an hour. */
export function markdownSegmentLine(s: Segment, hours: boolean): string {
  return `- \`[${formatClock(s.start, hours)}]\` ${escapeMarkdown(s.text)}`;
}

/** `mm:ss` or `h:mm:ss`. */
export function formatClock(seconds: number, hours: boolean): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return hours ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
