/**
 * `node out/bench/split.js`: one long file (BENCH_SPLIT_MINUTES, default 10, of flite sentences with pauses) on the
 * PocketSphinx engine with 1 worker and with BENCH_WORKERS (default 2), both with the engine's default split settings.
 * Prints both wall times, the speed-up (1-worker time ÷ N-worker time; the goal is about N) and whether the two
 * transcripts have the same words and segments. Then the memory of split decoding: BENCH_SPLIT_SILENT (default 8)
 * FLACs of BENCH_SPLIT_SILENT_MINUTES (default 60) of silence, made by `flac` with its default settings, sent at once
 * to BENCH_WORKERS workers, with the engine's defaults (one split request at a time, its first pass streamed, one of
 * its pieces waiting for a worker) and unbounded (every long request split, every piece handed out as soon as it is
 * cut, which holds the recordings as the first passes once did), and the defaults with no worker releasing its freed
 * memory (a full collection and malloc_trim once it has gone through `releaseSeconds` of audio): peak RSS growth, RSS
 * growth once they are answered and the engine has served again, the main thread's share, RSS after ÷ RSS before,
 * and ratios to the unbounded run. Prints figures only; it never asserts timing or memory.
 */
import { execFile } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Transcript } from '../src/server/engine/engine.js';
import { createPocketSphinxEngine, DEFAULT_PIECE_SECONDS, DEFAULT_SPLIT_SECONDS } from '../src/server/engine/pocketsphinx/engine.js';
import { longRecording, SCRIPT, scratchDir, speak, wordErrorRate, words } from '../support/speech.js';
import { table } from './stats.js';

const MINUTES = Number(process.env.BENCH_SPLIT_MINUTES ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const PAUSE_SECONDS = 0.8;
const SILENT_FILES = Number(process.env.BENCH_SPLIT_SILENT ?? 8);
const SILENT_MINUTES = Number(process.env.BENCH_SPLIT_SILENT_MINUTES ?? 60);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** One memory run's figures (bytes, seconds). */
interface Held {
  readonly before: number;
  readonly peak: number;
  readonly after: number;
  /** The main thread's own heap and external memory once they are answered (the rest of RSS is the workers'). */
  readonly mainAfter: number;
  readonly seconds: number;
}

/** The engine's bounds on split decoding for one memory run, and how often its workers release memory. */
interface Bounds {
  readonly maxSplitting: number;
  readonly piecesPerRequest: number;
  readonly releaseSeconds?: number;
}

/** Runs the memory measurement with `bounds` in a fresh process of this script, so that no run inherits another's heap. */
async function memoryRun(bounds: Bounds): Promise<Held> {
  const env = { ...process.env, BENCH_SPLIT_MEMORY_CHILD: JSON.stringify(bounds) };
  const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url)], { env, maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Held;
}

/** In the child: SILENT_FILES long silent FLACs (made by `flac`) at once on WORKERS workers; prints `Held` as JSON. */
async function measureMemory(bounds: Bounds): Promise<void> {
  const scratch = await scratchDir();
  try {
    const silent = path.join(scratch.dir, 'silent.flac');
    const raw = `head -c ${SILENT_MINUTES * 60 * 16_000 * 2} /dev/zero`;
    await promisify(execFile)('sh', ['-c', `${raw} | flac --silent --force-raw-format --endian=little --sign=signed --channels=1 --bps=16 --sample-rate=16000 -o ${silent} -`]);
    const warmUp = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'warm-up');
    const engine = await createPocketSphinxEngine({ workers: WORKERS, maxQueue: SILENT_FILES, ...bounds });
    try {
      await Promise.all(Array.from({ length: WORKERS }, () => engine.transcribe({ path: warmUp })));
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const start = performance.now();
      await Promise.all(Array.from({ length: SILENT_FILES }, () => engine.transcribe({ path: silent })));
      const seconds = (performance.now() - start) / 1000;
      clearInterval(sampler);
      // "After": the engine has served again, and 5 s more.
      await Promise.all(Array.from({ length: WORKERS }, () => engine.transcribe({ path: warmUp })));
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const main = process.memoryUsage();
      console.log(JSON.stringify({ before, peak, after: main.rss, mainAfter: main.heapTotal + main.external, seconds } satisfies Held));
    } finally {
      await engine.close();
    }
  } finally {
    await scratch.dispose();
  }
}

const child = process.env.BENCH_SPLIT_MEMORY_CHILD;
if (child !== undefined) {
  // JSON writes Infinity as null.
  await measureMemory(JSON.parse(child, (_key, value: unknown) => (value === null ? Infinity : value)) as Bounds);
  process.exit(0);
}

const scratch = await scratchDir();
try {
  const recording = await longRecording(scratch.dir, 'long', MINUTES, PAUSE_SECONDS);
  const warmUp = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'warm-up');

  interface Run {
    readonly transcript: Transcript;
    readonly seconds: number;
    /** CPU time of the whole process (all threads). */
    readonly cpu: number;
  }
  const timed = async (workers: number): Promise<Run> => {
    const engine = await createPocketSphinxEngine({ workers, maxQueue: workers });
    try {
      await Promise.all(Array.from({ length: workers }, () => engine.transcribe({ path: warmUp }))); // first touch of the model's pages
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const transcript: Transcript = await engine.transcribe({ path: recording.path });
      const cpu = process.cpuUsage(cpuStart);
      return { transcript, seconds: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
    } finally {
      await engine.close();
    }
  };
  const loadBefore = loadavg()[0]!;
  const one = await timed(1);
  const many = await timed(WORKERS);

  const audio = one.transcript.duration;
  console.log(`One long file on the PocketSphinx engine: ${(audio / 60).toFixed(1)} min of flite speech (${recording.spans.length} sentences, ${PAUSE_SECONDS} s pauses), ${availableParallelism()} cores`);
  console.log(`split: files from ${DEFAULT_SPLIT_SECONDS} s, pieces of about ${DEFAULT_PIECE_SECONDS} s`);
  // Other work on the machine takes cores from the second worker: "cores used" (CPU ÷ wall) shows what it got.
  console.log(`load average (1 min) before / after: ${loadBefore.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}\n`);
  const row = (workers: number, r: Run) => [
    String(workers),
    r.seconds.toFixed(1),
    (r.seconds / audio).toFixed(3),
    r.cpu.toFixed(1),
    (r.cpu / r.seconds).toFixed(2),
    String(r.transcript.segments.length),
    `${(wordErrorRate(recording.text, r.transcript.text).rate * 100).toFixed(1)} %`,
  ];
  console.log(table([['workers', 'wall s', 'RTF (wall)', 'CPU s', 'cores used', 'segments', 'WER vs script'], row(1, one), row(WORKERS, many)]));
  const sameWords = words(one.transcript.text).join(' ') === words(many.transcript.text).join(' ');
  const sameSegments = JSON.stringify(one.transcript.segments) === JSON.stringify(many.transcript.segments);
  console.log(`\nspeed-up with ${WORKERS} workers: ${(one.seconds / many.seconds).toFixed(2)}x (goal: about ${WORKERS}x)`);
  console.log(`same words: ${sameWords ? 'yes' : 'no'}; same segments and times: ${sameSegments ? 'yes' : 'no'}`);

  console.log(`\n${SILENT_FILES} FLACs of ${SILENT_MINUTES} min of silence at once on ${WORKERS} workers, each setting in a fresh process (RSS of`);
  console.log('the whole process: the workers are threads in it; "after": once the engine has served a sentence per worker again, and 5 s):\n');
  const loadMemory = loadavg()[0]!;
  const bounded = await memoryRun({ maxSplitting: 1, piecesPerRequest: 1 });
  const unbounded = await memoryRun({ maxSplitting: Infinity, piecesPerRequest: Infinity });
  // What the workers' jobs freed stays with V8 until its next full collection and then with glibc's per-thread
  // arenas: the defaults again with no worker ever releasing it.
  const kept = await memoryRun({ maxSplitting: 1, piecesPerRequest: 1, releaseSeconds: Infinity });
  const memoryRow = (name: string, h: Held) => [
    name,
    h.seconds.toFixed(1),
    mb(h.before),
    mb(h.peak),
    mb(h.after),
    mb(h.peak - h.before),
    mb(h.after - h.before),
    (h.after / h.before).toFixed(2),
    mb(h.mainAfter),
  ];
  const header = ['split requests, pieces waiting', 'wall s', 'RSS before', 'peak RSS', 'RSS after', 'peak growth', 'growth after', 'after ÷ before', 'main thread after'];
  console.log(table([header, memoryRow('1, 1 each (default)', bounded), memoryRow('all, all (unbounded)', unbounded), memoryRow('default, no release', kept)]));
  console.log(`\nload average (1 min) before / after the memory runs: ${loadMemory.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`);
  const ratios = (name: string, h: Held) => {
    const ratio = (f: (h: Held) => number) => (f(h) / f(unbounded)).toFixed(2);
    console.log(`${name} ÷ unbounded: peak growth ${ratio((x) => x.peak - x.before)}, growth after ${ratio((x) => x.after - x.before)}, wall time ${ratio((x) => x.seconds)}`);
  };
  console.log('');
  ratios('default', bounded);
  ratios('default, no release', kept);
  console.log(`default ÷ no release: growth after ${((bounded.after - bounded.before) / (kept.after - kept.before)).toFixed(2)}, wall time ${(bounded.seconds / kept.seconds).toFixed(2)}`);
} finally {
  await scratch.dispose();
}
