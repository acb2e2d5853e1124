/**
 * Where a transcript and its receipt are saved beside the audio, and what its document is named.
 * Pure: no vscode, no core code (activation must not load it).
 */
import type { TranscriptFormat } from '../../protocol/transcript.js';
import type { DocumentFormat } from '../settings/model.js';

/** The files saved beside `speech.wav`: the exact bytes the receipt binds, the receipt, and the Markdown view when the document is one. */
export interface ReceiptFileNames {
  /** `speech.transcript.<txt|json|srt|vtt>`: the server's answer byte for byte, what `verify-receipt --transcript` takes. */
  readonly signed: string;
  readonly receipt: string;
  /** `speech.transcript.md` for a Markdown document (a rendering, not what was signed). */
  readonly rendered: string | undefined;
}

const SIGNED_EXTENSIONS: Readonly<Record<TranscriptFormat, string>> = { text: 'txt', json: 'json', verbose_json: 'json', srt: 'srt', vtt: 'vtt' };

/**
 * The names for the audio file `audioName` whose transcript was asked for in `wire` and shown as `document`; the `n`th
 * choice (`speech.transcript-2.txt`, `speech.receipt-2.json`) when the first names are taken.
 */
export function receiptFileNames(audioName: string, wire: TranscriptFormat, document: DocumentFormat, n = 1): ReceiptFileNames {
  const stem = audioName.replace(/\.[^.]*$/, '') || audioName;
  const suffix = n > 1 ? `-${n}` : '';
  return {
    signed: `${stem}.transcript${suffix}.${SIGNED_EXTENSIONS[wire]}`,
    receipt: `${stem}.receipt${suffix}.json`,
    rendered: document === 'markdown' ? `${stem}.transcript${suffix}.md` : undefined,
  };
}

const DOCUMENT_EXTENSIONS: Readonly<Record<DocumentFormat, string>> = { text: 'txt', markdown: 'md', srt: 'srt', vtt: 'vtt' };

/** The name a transcript document of `audioName` has: `speech.transcript.srt`, or `speech.transcript-2.srt` as the `n`th choice. */
export function documentFileName(audioName: string, format: DocumentFormat, n = 1): string {
  const stem = audioName.replace(/\.[^.]*$/, '') || audioName;
  return `${stem}.transcript${n > 1 ? `-${n}` : ''}.${DOCUMENT_EXTENSIONS[format]}`;
}
