/**
 * `node out/bench/split.js`: one long file (BENCH_SPLIT_MINUTES, default 10, of flite sentences with pauses) on the
 * PocketSphinx engine with 1 worker and with BENCH_WORKERS (default 2), both with the engine's default split settings.
 * Prints both wall times, the speed-up (1-worker time ÷ N-worker time; the goal is about N) and whether the two
 * transcripts have the same words and segments. Prints figures only; it never asserts timing.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Transcript } from '../src/server/engine/engine.js';
import { createPocketSphinxEngine, DEFAULT_PIECE_SECONDS, DEFAULT_SPLIT_SECONDS } from '../src/server/engine/pocketsphinx/engine.js';
import { SCRIPT, scratchDir, speak, spokenRecording, wordErrorRate, words, type Voice } from '../test/helpers/speech.js';
import { table } from './stats.js';

const MINUTES = Number(process.env.BENCH_SPLIT_MINUTES ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const PAUSE_SECONDS = 0.8;

const scratch = await scratchDir();
try {
  // Each sentence with its pause is about 4.5 s: enough of them, voices alternating, for MINUTES of audio.
  const count = Math.ceil((MINUTES * 60) / 4.5);
  const lines = Array.from({ length: count }, (_, i) => {
    const voice: Voice = i % 2 === 0 ? 'slt' : 'rms';
    return { voice, text: SCRIPT[voice][Math.floor(i / 2) % SCRIPT[voice].length]! };
  });
  const recording = await spokenRecording(scratch.dir, 'long', lines, PAUSE_SECONDS);
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
  console.log(`One long file on the PocketSphinx engine: ${(audio / 60).toFixed(1)} min of flite speech (${count} sentences, ${PAUSE_SECONDS} s pauses), ${availableParallelism()} cores`);
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
} finally {
  await scratch.dispose();
}
