/**
 * A transcription's progress notification, as pure functions of what the core reports: bytes, rate and time left while
 * uploading, the phase once the upload is in (a busy server's wait: `retryLine`, core), and the arithmetic of one bar
 * for a whole batch. No vscode import: unit-tested.
 */

import { formatDuration } from '../../core/util/format-duration.js';

/** What the notification says once the audio is sent and the enclave is decoding it. */
export const TRANSCRIBING = 'transcribing on the enclave…';

/** What a cancelled file leaves behind. */
export const CANCELLED = 'cancelled: nothing was opened';

/** Rate and time left are shown only after this much upload time: earlier figures are noise. */
const STEADY_MS = 500;

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

/** One progress notification for the whole batch: "3 of 8 · name · 41 %", the bar the sum of every file's share. */
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
    const position = this.#total > 1 ? `${ordinal} of ${this.#total} · ` : '';
    this.#progress.report({ increment, message: `${position}${name} · ${what}` });
  }
}
