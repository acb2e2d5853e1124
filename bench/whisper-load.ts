/** What the Whisper benches measure alike: a transcription's wall time, and short requests' latency during a long one. */
import type { TranscriptionEngine } from '../src/server/engine/engine.js';
import { median } from './stats.js';

/** Wall milliseconds of `run`. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

export interface LatencyDuringLong {
  /** The short request's median and worst latency (ms), and how many were sent. */
  readonly median: number;
  readonly worst: number;
  readonly count: number;
  /** The long file's own time (ms). */
  readonly longMs: number;
}

/**
 * Sends the long file, waits until `working()` says every server holds a piece of it, then sends the short one again
 * and again, one after another, until the long one is done.
 */
export async function shortsDuringLong(engine: TranscriptionEngine, long: string, short: string, working: () => boolean): Promise<LatencyDuringLong> {
  let longMs = 0;
  let done = false;
  const longDone = timed(() => engine.transcribe({ path: long })).then((ms) => ((longMs = ms), (done = true)));
  while (!working() && !done) await new Promise((resolve) => setTimeout(resolve, 5));
  const shorts: number[] = [];
  while (!done) shorts.push(await timed(() => engine.transcribe({ path: short })));
  await longDone;
  return { median: median(shorts), worst: Math.max(...shorts), count: shorts.length, longMs };
}
