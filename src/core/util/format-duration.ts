/**
 * How long, for people, one way everywhere: the ages in the status bar, the attestation and trust views and the CLI
 * summary, and the time left of an upload. No imports, so the extension's entry bundle can use it without loading
 * the core.
 */

/** "12 s", "5 min", "1 h 3 min", "3 d 4 h": rounded down, seconds only under a minute; negative reads as "0 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  if (m < 24 * 60) return twoUnits(Math.floor(m / 60), 'h', m % 60, 'min');
  const h = Math.floor(m / 60);
  return twoUnits(Math.floor(h / 24), 'd', h % 24, 'h');
}

function twoUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor ? `${major} ${majorUnit} ${minor} ${minorUnit}` : `${major} ${majorUnit}`;
}
