/**
 * `node out/bench/engine.js`: how fast the PocketSphinx engine transcribes, as a real-time factor (processing time ÷
 * audio duration; below 1 is faster than real time), and how much memory it takes. Prints figures only; it never
 * asserts timing. Needs scripts/setup-system.sh's packages and the addon (scripts/build-native.sh).
 *
 *   (1) per worker    one worker, the jobs one after another: what one decoder sustains (goal: RTF ≤ 0.2)
 *   (2) all workers   BENCH_WORKERS workers (default: the cores), all jobs submitted at once: wall time ÷ total audio
 *   (3) front end     decoding MP3 and resampling 44.1 kHz stereo to 16 kHz alone, on this thread (no recognition)
 *   (4) amplifiers    the front end's CPU on a minute of FLAC silence at the worst format still accepted (96 kHz, 8
 *                     channels) and on decoder amplifiers until refused (655,350 Hz × 8, and a chained 255-channel
 *                     Opus), each as a ratio to the same minute at 16 kHz mono
 *
 * The speech is made with flite: BENCH_JOBS files (default 4) of both voices' sentences, about 23 s each, as 16 kHz
 * WAV for (1) and (2). Peak RSS is the whole process's (the workers are threads in it), sampled every 20 ms.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { SPEECH_RATE, pcm16k } from '../src/server/engine/audio/pcm16k.js';
import { Resampler } from '../src/server/engine/audio/resample.js';
import type { Transcript } from '../src/server/engine/engine.js';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import type { Codec } from '../src/protocol/audio-format.js';
import { chainedOpus, RATE_BOMB, RATE_BOMB_BASELINE, silentFlac } from '../support/decoder-bombs.js';
import { concatenate, convert, encode, SCRIPT, scratchDir, speak, wordErrorRate } from '../support/speech.js';
import { table } from './stats.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 4);
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const scratch = await scratchDir();
try {
  const text = [...SCRIPT.slt, ...SCRIPT.rms].join(' ');
  const slt = await speak(scratch.dir, 'slt', SCRIPT.slt.join(' '), 'slt');
  const rms = await speak(scratch.dir, 'rms', SCRIPT.rms.join(' '), 'rms');
  const both = await concatenate([slt, rms], path.join(scratch.dir, 'both.wav'));
  const files = Array.from({ length: JOBS }, () => both);
  const rssBefore = process.memoryUsage().rss;

  interface Run {
    readonly seconds: number;
    /** CPU time of the whole process (all threads): unlike wall time, barely moved by other load on the machine. */
    readonly cpu: number;
    readonly audio: number;
    readonly transcripts: Transcript[];
  }
  const timed = async (work: () => Promise<Transcript[]>): Promise<Run> => {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const transcripts = await work();
    const cpu = process.cpuUsage(cpuStart);
    return { seconds: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6, audio: transcripts.reduce((s, t) => s + t.duration, 0), transcripts };
  };

  // (1) one worker, sequential jobs
  peakRss = process.memoryUsage().rss;
  const single = await createPocketSphinxEngine({ workers: 1, maxQueue: JOBS });
  await single.transcribe({ path: slt }); // warm-up: first-touch of the model's pages
  const one = await timed(async () => {
    const out: Transcript[] = [];
    for (const file of files) out.push(await single.transcribe({ path: file }));
    return out;
  });
  await single.close();
  const peakOne = peakRss;

  // (2) all workers, jobs at once
  peakRss = process.memoryUsage().rss;
  const pool = await createPocketSphinxEngine({ workers: WORKERS, maxQueue: JOBS });
  await Promise.all(Array.from({ length: WORKERS }, () => pool.transcribe({ path: slt })));
  const all = await timed(() => Promise.all(files.map((file) => pool.transcribe({ path: file }))));
  await pool.close();
  const peakAll = peakRss;

  // (3) the front end alone
  const mp3 = await encode(await convert(both, 44_100, 2), 'mp3');
  const resampler = await Resampler.create(SPEECH_RATE);
  const frontStart = performance.now();
  const frontCpuStart = process.cpuUsage();
  let frontAudio = 0;
  for await (const block of pcm16k(mp3, 'mp3', resampler, Infinity)) frontAudio = block.inputSeconds;
  const front = (performance.now() - frontStart) / 1000;
  const frontCpu = process.cpuUsage(frontCpuStart);

  const wer = wordErrorRate(text, one.transcripts[0]!.text).rate;
  console.log(`PocketSphinx engine: ${JOBS} jobs of ${one.transcripts[0]!.duration.toFixed(1)} s of flite speech (slt + rms), ${availableParallelism()} cores`);
  console.log(`word error rate on it: ${(wer * 100).toFixed(1)} %; RSS before the engines: ${mb(rssBefore)}\n`);
  console.log(
    table([
      ['run', 'workers', 'audio s', 'wall s', 'RTF (wall)', 'RTF per worker', 'CPU s', 'RTF (CPU)', 'peak RSS'],
      ['(1) per worker', '1', one.audio.toFixed(1), one.seconds.toFixed(1), (one.seconds / one.audio).toFixed(3), (one.seconds / one.audio).toFixed(3), one.cpu.toFixed(1), (one.cpu / one.audio).toFixed(3), mb(peakOne)],
      ['(2) all workers', String(WORKERS), all.audio.toFixed(1), all.seconds.toFixed(1), (all.seconds / all.audio).toFixed(3), ((all.seconds * Math.min(WORKERS, JOBS)) / all.audio).toFixed(3), all.cpu.toFixed(1), (all.cpu / all.audio).toFixed(3), mb(peakAll)],
      ['(3) front end', '-', frontAudio.toFixed(1), front.toFixed(2), (front / frontAudio).toFixed(3), '-', ((frontCpu.user + frontCpu.system) / 1e6).toFixed(2), ((frontCpu.user + frontCpu.system) / 1e6 / frontAudio).toFixed(3), '-'],
    ]),
  );
  // (4) decoder amplifiers: CPU seconds of the front end until it ends or refuses, against an ordinary minute
  const frontCpuOf = async (file: string, codec: Codec) => {
    const cpuStart = process.cpuUsage();
    let outcome = 'decoded';
    try {
      for await (const block of pcm16k(file, codec, resampler, Infinity)) void block;
    } catch (err) {
      outcome = `refused ${(err as { code?: string }).code ?? ''}`;
    }
    const cpu = process.cpuUsage(cpuStart);
    return { cpu: (cpu.user + cpu.system) / 1e6, outcome };
  };
  const amplifiers: [string, string, Codec][] = [
    ['16 kHz mono FLAC, 60 s', await silentFlac(scratch.dir, 'baseline', RATE_BOMB_BASELINE), 'flac'],
    ['96 kHz 8-channel FLAC, 60 s', await silentFlac(scratch.dir, 'accepted', { rate: 96_000, channels: 8, seconds: 60 }), 'flac'],
    ['655,350 Hz 8-channel FLAC, 60 s', await silentFlac(scratch.dir, 'bomb', RATE_BOMB), 'flac'],
    ['Opus 1 s mono + 4 s of 255 channels', await chainedOpus(scratch.dir, 255, 4), 'opus'],
  ];
  const amplified = [];
  for (const [name, file, codec] of amplifiers) amplified.push({ name, ...(await frontCpuOf(file, codec)) });
  const baselineCpu = amplified[0]!.cpu;
  console.log('\n(4) decoder amplifiers: the front end (decoding, mixing, resampling) on this thread, until it ends or refuses\n');
  console.log(table([['file', 'outcome', 'CPU s', '÷ 16 kHz mono'], ...amplified.map((a) => [a.name, a.outcome, a.cpu.toFixed(2), (a.cpu / baselineCpu).toFixed(1)])]));
  const worst = amplified[1]!.cpu;
  console.log(`the worst accepted format costs ${worst.toFixed(2)} CPU s per minute; recognising a minute of speech, ${((one.cpu / one.audio) * 60).toFixed(1)} (run (1)): ratio ${(worst / ((one.cpu / one.audio) * 60)).toFixed(2)}`);

  const perWorker = one.seconds / one.audio;
  console.log(`\ngoal: RTF per worker ≤ 0.2 — ${perWorker <= 0.2 ? 'met' : 'not met'} on this machine (run (1): ${perWorker.toFixed(3)} wall, ${(one.cpu / one.audio).toFixed(3)} CPU)`);
  console.log('RTF per worker in (2) is wall × workers ÷ audio: above (1) when the workers share memory bandwidth or the cores are loaded.');
} finally {
  clearInterval(sampler);
  await scratch.dispose();
}
