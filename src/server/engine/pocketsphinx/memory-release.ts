/**
 * Gives a worker's freed memory back to the system once the worker has gone through enough audio. What a long job
 * leaves behind (the decoded blocks and their 16 kHz copies, the pieces of a split recording, the FLAC decoder's
 * WebAssembly memory) is garbage once the job ends, but V8 frees it only at the isolate's next full collection, which an
 * idle worker may not reach for a long time, and glibc keeps what a thread freed in that thread's malloc arena (Node
 * allocates ArrayBuffers with malloc). Measured on 8 one-hour silent FLACs on 2 workers: +94 MB resident once answered;
 * a full collection then `malloc_trim` after the jobs bring it back to within a few MB (bench/split.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Counts the audio that jobs go through and releases once it adds up to `afterSeconds` since the last release. A full
 * collection takes 20–75 ms on a worker's heap and the trim under 15 ms: once per minute of audio (about 10 s of
 * recognition) that is well under 1 % of the work, and a run of short requests adds up to a release too.
 */
export class MemoryReleaser {
  #heard = 0;
  readonly #afterSeconds: number;
  readonly #release: () => void;

  constructor(afterSeconds: number, release: () => void) {
    if (!(afterSeconds >= 0)) throw new RangeError('afterSeconds must not be negative');
    this.#afterSeconds = afterSeconds;
    this.#release = release;
  }

  /** A job ended (answered or failed) after going through `seconds` of audio; returns whether memory was released. */
  jobEnded(seconds: number): boolean {
    this.#heard += seconds;
    if (this.#heard < this.#afterSeconds) return false;
    this.#heard = 0;
    this.#release();
    return true;
  }
}

/**
 * V8's full garbage collection for the calling thread's isolate, without `--expose-gc` on the command line. The flag
 * is read as a context is made, so it is set first (process-wide: nothing else here makes contexts) and `gc` is taken
 * from a fresh context; it collects the whole isolate, this thread's heap included.
 */
export function fullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
