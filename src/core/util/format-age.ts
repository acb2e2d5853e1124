/**
 * How long ago, compactly, for people: the status bar, the attestation view and the CLI summary all say ages the
 * same way. No imports, so the extension's entry bundle can use it without loading the core.
 */

/** "12s", "5m", "2h 5m", "3d 4h"; negative durations read as "0s". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}
