/**
 * Where a transcript and its receipt are saved beside the audio, and what its document is named.
 * Pure: no vscode, no core code (activation must not load it).
 */
import type { TranscriptFormat } from '../../protocol/transcript.js';
import type { DocumentFormat } from '../settings/model.js';

/**
 * The files saved beside `speech.wav`: the exact bytes the receipt binds and the receipt. The signed bytes carry a name
 * of their own (`.signed.`), never the name of the transcript document (`speech.transcript.txt`, which holds the
 * provenance header too): a file named like the editor's tab holds what the tab holds.
 */
export interface ReceiptFileNames {
  /** `speech.transcript.signed.<txt|json|srt|vtt>`: the server's answer byte for byte, what `verify-receipt --transcript` takes. */
  readonly signed: string;
  readonly receipt: string;
}

const SIGNED_EXTENSIONS: Readonly<Record<TranscriptFormat, string>> = { text: 'txt', json: 'json', verbose_json: 'json', srt: 'srt', vtt: 'vtt' };

/**
 * The names for the audio file `audioName` whose transcript was asked for in `wire`; the `n`th choice
 * (`speech.transcript-2.signed.txt`, `speech.receipt-2.json`) when the first names are taken.
 */
export function receiptFileNames(audioName: string, wire: TranscriptFormat, n = 1): ReceiptFileNames {
  const stem = audioName.replace(/\.[^.]*$/, '') || audioName;
  const suffix = n > 1 ? `-${n}` : '';
  return { signed: `${stem}.transcript${suffix}.signed.${SIGNED_EXTENSIONS[wire]}`, receipt: `${stem}.receipt${suffix}.json` };
}

const DOCUMENT_EXTENSIONS: Readonly<Record<DocumentFormat, string>> = { text: 'txt', markdown: 'md', srt: 'srt', vtt: 'vtt' };

/** The name a transcript document of `audioName` has: `speech.transcript.srt`, or `speech.transcript-2.srt` as the `n`th choice. */
export function documentFileName(audioName: string, format: DocumentFormat, n = 1): string {
  const stem = audioName.replace(/\.[^.]*$/, '') || audioName;
  return `${stem}.transcript${n > 1 ? `-${n}` : ''}.${DOCUMENT_EXTENSIONS[format]}`;
}
