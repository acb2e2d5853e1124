/**
 * A transcription's progress notification, as pure functions of what the core reports: bytes, rate and time left while
 * uploading; once the upload is in, the time elapsed and an estimate of what is left from the audio's length and the
 * enclave's speed measured on this server's earlier files (`EngineSpeeds`), or "estimate unknown" before any; a busy
 * server's wait (`retryLine`, core); and the arithmetic of one bar for a whole batch. No vscode import: unit-tested.
 */

import { formatDuration } from '../../core/util/format-duration.js';
import { formatClock } from '../../core/transcript-markdown.js';

/** What the notification says once the audio is sent and the enclave is decoding it. */
export const TRANSCRIBING = 'transcribing on the enclave…';

/** What a cancelled file leaves behind. */
export const CANCELLED = 'cancelled: nothing was opened';

/** Rate and time left are shown only after this much upload time: earlier figures are noise. */
const STEADY_MS = 500;

/** One file's bar: the upload's share; the rest follows the transcription's estimate. */
const UPLOAD_SHARE = 0.1;

/** The transcription's part of the bar stops short of its end: only the answer completes a file. */
const MAX_BEFORE_ANSWER = 0.99;

/** "12.3 of 40 MB · 4.1 MB/s · 7 s left": `sent` of `total` bytes, `elapsedMs` after the upload began. */
export function uploadLine(sent: number, total: number, elapsedMs: number): string {
  const unit = total >= 1e6 ? { size: 1e6, name: 'MB' } : { size: 1e3, name: 'KB' };
  const parts = [`${amount(sent / unit.size)} of ${amount(total / unit.size)} ${unit.name}`];
  if (elapsedMs >= STEADY_MS && sent > 0 && sent < total) {
    const perSecond = sent / (elapsedMs / 1000);
    parts.push(perSecond >= 1e6 ? `${amount(perSecond / 1e6)} MB/s` : `${amount(perSecond / 1e3)} KB/s`);
    parts.push(`${formatDuration(Math.max(1, Math.ceil((total - sent) / perSecond)) * 1000)} left`);
  }
  return parts.join(' · ');
}

/** The bar of one file while `sent` of `total` bytes are uploaded. */
export function uploadFraction(sent: number, total: number): number {
  return UPLOAD_SHARE * (total > 0 ? Math.min(1, sent / total) : 1);
}

/** The bar of one file `decodingMs` after its upload ended: it follows `estimateMs`, and stays put without one. */
export function transcribingFraction(decodingMs: number, estimateMs: number | undefined): number {
  if (estimateMs === undefined) return UPLOAD_SHARE;
  return UPLOAD_SHARE + (1 - UPLOAD_SHARE) * Math.min(Math.max(0, decodingMs) / Math.max(1, estimateMs), MAX_BEFORE_ANSWER);
}

/**
 * "transcribing on the enclave… · 1 min elapsed · about 2 min left": `elapsedMs` since the file's upload began,
 * `decodingMs` since it ended, against the estimate of the transcription (`estimateMs`, undefined before any
 * measurement, or when the file does not state its length: `audioSeconds` undefined).
 */
export function transcribingLine(elapsedMs: number, decodingMs: number, estimateMs: number | undefined, audioSeconds: number | undefined): string {
  const parts = [TRANSCRIBING, `${formatDuration(elapsedMs)} elapsed`];
  if (estimateMs === undefined) parts.push(audioSeconds === undefined ? 'estimate unknown (the file does not state its length)' : 'estimate unknown until a file is timed on this server');
  else if (decodingMs < estimateMs) parts.push(`about ${formatDuration(Math.max(1000, estimateMs - decodingMs))} left`);
  else parts.push(`longer than the ${formatDuration(Math.max(1000, estimateMs))} estimated`);
  return parts.join(' · ');
}

/**
 * A streamed file's line once segments come: "12:30 of 18:00 transcribed", the audio time the last segment reached of
 * the file's length (`audioSeconds`, undefined when the file does not state it: "12:30 transcribed").
 */
export function streamedLine(reachedSeconds: number, audioSeconds: number | undefined): string {
  const hours = Math.max(reachedSeconds, audioSeconds ?? 0) >= 3600;
  const of = audioSeconds === undefined ? '' : ` of ${formatClock(audioSeconds, hours)}`;
  return `${formatClock(reachedSeconds, hours)}${of} transcribed`;
}

/** A streamed file's bar: the share of its audio transcribed so far, after the upload's share (and never full before the answer). */
export function streamedFraction(reachedSeconds: number, audioSeconds: number | undefined): number {
  if (!(audioSeconds !== undefined && audioSeconds > 0)) return UPLOAD_SHARE;
  return UPLOAD_SHARE + (1 - UPLOAD_SHARE) * Math.min(Math.max(0, reachedSeconds) / audioSeconds, MAX_BEFORE_ANSWER);
}

/**
 * The enclave's speed, measured on the transcriptions of this window: per server, the time from the end of an upload
 * to its answer per second of audio (its real-time factor, queueing included: what a user waits).
 */
export class EngineSpeeds {
  readonly #byServer = new Map<string, { audioSeconds: number; waitMs: number }>();

  /** One transcription of `audioSeconds` answered `waitMs` after its upload ended. */
  record(server: string, audioSeconds: number, waitMs: number): void {
    if (!(audioSeconds > 0 && waitMs >= 0)) return;
    const sum = this.#byServer.get(server) ?? { audioSeconds: 0, waitMs: 0 };
    this.#byServer.set(server, { audioSeconds: sum.audioSeconds + audioSeconds, waitMs: sum.waitMs + waitMs });
  }

  /** Seconds waited per second of audio on `server` (the real-time factor), or undefined before any transcription there. */
  realTimeFactor(server: string): number | undefined {
    const sum = this.#byServer.get(server);
    return sum ? sum.waitMs / 1000 / sum.audioSeconds : undefined;
  }

  /** How long `audioSeconds` of audio should take on `server` after its upload, or undefined when unknown. */
  estimateMs(server: string, audioSeconds: number | undefined): number | undefined {
    const factor = this.realTimeFactor(server);
    return factor === undefined || audioSeconds === undefined ? undefined : factor * audioSeconds * 1000;
  }
}

/** One decimal below 100 ("12.3", "40"), none above ("512"). */
function amount(n: number): string {
  if (n >= 100) return String(Math.round(n));
  const rounded = Math.round(n * 10) / 10;
  return Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1);
}

/** What a progress notification is told (VS Code's `Progress`): the bar moves by `increment` percent. */
export interface ProgressReport {
  report(value: { readonly message?: string; readonly increment?: number }): void;
}

/** One file's reporter. */
export interface FileProgress {
  /** `fraction` (0–1) of this file is done; `what` says what is happening. The bar never moves back. */
  update(fraction: number, what: string): void;
  /** Counts the file done, whatever its outcome. */
  finish(): void;
}

/** One progress notification for the whole batch ("3 of 8 · name · what"; one file: "what"), the bar the sum of every file's share. */
export class BatchProgress {
  #shown = 0;
  readonly #fractions = new Map<string, number>();
  readonly #total: number;
  readonly #progress: ProgressReport;

  constructor(total: number, progress: ProgressReport) {
    this.#total = total;
    this.#progress = progress;
  }

  say(message: string): void {
    this.#progress.report({ message });
  }

  /** The reporter of the `ordinal`th file of the batch (from 1): its messages say "ordinal of total · name". */
  file(name: string, ordinal: number): FileProgress {
    const key = `${name}#${this.#fractions.size}`;
    this.#fractions.set(key, 0);
    return {
      update: (fraction: number, what: string) => this.#update(key, name, ordinal, fraction, what),
      finish: () => this.#update(key, name, ordinal, 1, 'done'),
    };
  }

  #update(key: string, name: string, ordinal: number, fraction: number, what: string): void {
    this.#fractions.set(key, Math.max(this.#fractions.get(key) ?? 0, fraction));
    const overall = Math.floor(([...this.#fractions.values()].reduce((a, b) => a + b, 0) / this.#total) * 100);
    const increment = Math.max(0, overall - this.#shown);
    this.#shown += increment;
    // One file: the notification's title names it already.
    const position = this.#total > 1 ? `${ordinal} of ${this.#total} · ${name} · ` : '';
    this.#progress.report({ increment, message: `${position}${what}` });
  }
}
