/** Small helpers for the benchmark: timing, order statistics and table formatting. No assertions, only figures. */

/** Elapsed milliseconds of `fn` (high-resolution clock). */
export function timeMs(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** CPU milliseconds (user + system) spent by this process in `fn`: on a shared machine, unlike wall time, not
 *  inflated by the time other processes hold the CPU, which grows with how long `fn` runs. */
export function cpuMs(fn: () => unknown): number {
  const start = process.cpuUsage();
  fn();
  const spent = process.cpuUsage(start);
  return (spent.user + spent.system) / 1000;
}

/** Times `fn` `repeats` times after `warmup` untimed calls; `before` runs untimed before every call. */
export function sample(fn: () => unknown, repeats: number, warmup = 0, before?: () => void): number[] {
  for (let i = 0; i < warmup; i++) {
    before?.();
    fn();
  }
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    before?.();
    out.push(timeMs(fn));
  }
  return out;
}

/**
 * Times `fn` and the yardstick `ref` alternately (`before` runs untimed before every `fn`), so that a noisy machine
 * slows both alike and their ratio stays meaningful; `clock` is wall time unless given. Returns [fn samples, ref samples].
 */
export function sampleInterleaved(fn: () => unknown, ref: () => unknown, repeats: number, warmup = 0, before?: () => void, clock = timeMs): [number[], number[]] {
  for (let i = 0; i < warmup; i++) {
    before?.();
    fn();
    ref();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < repeats; i++) {
    before?.();
    a.push(clock(fn));
    b.push(clock(ref));
  }
  return [a, b];
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** Milliseconds with three significant-ish decimals. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? value.toFixed(1) : value >= 10 ? value.toFixed(2) : value.toFixed(3);
}

/** A multiple of the yardstick, e.g. `4.8×`. */
export function times(value: number, unit: number): string {
  return Number.isFinite(value) ? `${(value / unit).toFixed(value / unit >= 100 ? 0 : 1)}×` : 'n/a';
}

/** A plain-text table: first row is the header; numeric-looking cells are right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (/^[\d.,]+( ?[×%a-z/]*)?$/.test(cell) || cell === 'n/a' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
