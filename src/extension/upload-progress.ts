/**
 * The words of a transcription's progress notification, as pure functions of what the core reports: bytes, rate and
 * time left while uploading, the phase once the upload is in. (A busy server's wait: `retryLine`, core.) No vscode import: unit-tested.
 */

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
    parts.push(`${duration((total - sent) / perSecond)} left`);
  }
  return parts.join(' · ');
}

/** One decimal below 100 ("12.3", "40"), none above ("512"). */
function amount(n: number): string {
  if (n >= 100) return String(Math.round(n));
  const rounded = Math.round(n * 10) / 10;
  return Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1);
}

/** "7 s", "2 min 5 s", "1 h 3 min". */
function duration(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}
