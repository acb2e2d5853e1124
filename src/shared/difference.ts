/**
 * Where two hex values (PCRs, hashes) first differ, and each cut there with the differing character marked: what a
 * person compares when a measurement does not match. Pure; the core's refusal and the extension's views use it.
 */

/** The index of the first character where `a` and `b` differ (the shorter length when one is a prefix of the other). */
export function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** How many characters `markDifference` keeps on each side of the first difference. */
const MARK_CONTEXT = 8;

/**
 * `value` around index `at`, the character there in brackets: "…2067f4d8[3]a91c0e2b…". Two values cut this way at
 * their first difference never look alike, unlike two prefixes of the same length.
 */
export function markDifference(value: string, at: number): string {
  const from = Math.max(0, at - MARK_CONTEXT);
  const to = Math.min(value.length, at + 1 + MARK_CONTEXT);
  const differing = at < value.length ? `[${value[at]}]` : '[]';
  return `${from > 0 ? '…' : ''}${value.slice(from, at)}${differing}${value.slice(at + 1, to)}${to < value.length ? '…' : ''}`;
}
