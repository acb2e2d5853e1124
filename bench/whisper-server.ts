/**
 * `node out/bench/whisper-server.js`: the `whisper` engine on the REAL whisper-server (npm run setup builds it) with
 * the tiny model (support/whisper-tiny-model.ts), so these figures measure decoding, splitting, fan-out and
 * whisper.cpp's per-window work on a model of width 32, not a real model's inference. Prints figures only; it never
 * asserts timing.
 *
 *   long file      one BENCH_WHISPER_MINUTES-minute file (default 10; tone bursts with pauses) on 1 instance and on
 *                  2 instances of 1 thread each, alternately BENCH_WHISPER_RUNS times (default 2, best kept): the
 *                  ratio is what splitting over a second instance gains (goal ≥ 1.7× on 2 cores); 1 instance of
 *                  2 threads, and 2 of 2 threads (more threads than cores: what `--whisper-threads` defaulted to before it shared the cores out) beside it. Each whisper-server's time on a CPU shows how the
 *                  work was shared, and its time waiting for one (runnable, all its threads together) how much the
 *                  machine's other load held it back: then the wall time cannot halve whatever the split
 *   short request  6 s: alone on the idle 2-instance engine (5 times), and sent one after another while the long
 *                  file is split over the 2 instances
 *   accuracy       when BLINDBOX_WHISPER_MODEL names a real ggml model (e.g. ggml-base.en.bin), its word error rate on
 *                  the project's flite sentences (support/speech.ts) beside PocketSphinx's on the same recording;
 *                  without it, says that accuracy was not measured
 */
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { WHISPER_SERVER_BINARY } from '../src/server/engine/whisper/binary.js';
import { readWhisperModelFile } from '../src/server/engine/whisper/model-file.js';
import { createSupervisedWhisperEngine, type SupervisedWhisperEngine } from '../src/server/engine/whisper/supervised-engine.js';
import { cpuAndWait } from '../support/processes.js';
import { bursts, concatenate, SCRIPT, scratchDir, speak, wordErrorRate } from '../support/speech.js';
import { tinyWhisperModel } from '../support/whisper-tiny-model.js';
import { median, table } from './stats.js';
import { shortsDuringLong, timed } from './whisper-load.js';

const MINUTES = Number(process.env.BENCH_WHISPER_MINUTES ?? 10);
const RUNS = Number(process.env.BENCH_WHISPER_RUNS ?? 2);
const SHORT_RUNS = 5;
const REAL_MODEL = process.env.BLINDBOX_WHISPER_MODEL;

const scratch = await scratchDir();
const engines: SupervisedWhisperEngine[] = [];
/** A started engine on `modelFile`, warmed up on `warmUp` (the resampler's WebAssembly, the JIT, the children's first window). */
async function engine(modelFile: string, instances: number, threads: number, warmUp: string): Promise<SupervisedWhisperEngine> {
  const started = await createSupervisedWhisperEngine({ binary: WHISPER_SERVER_BINARY, model: await readWhisperModelFile(modelFile), instances, threads, timeoutMs: 30 * 60_000 });
  engines.push(started);
  await started.transcribe({ path: warmUp });
  return started;
}
try {
  const tiny = await tinyWhisperModel({ englishOnly: true });
  const long = (await bursts(scratch.dir, 'long', Math.round((MINUTES * 60) / 3))).path;
  const short = (await bursts(scratch.dir, 'short', 2)).path;

  const configurations = [
    { name: '1 instance × 1 thread', engine: await engine(tiny, 1, 1, short), runs: [] as number[], cpu: [] as number[], wait: [] as number[] },
    { name: '2 instances × 1 thread', engine: await engine(tiny, 2, 1, short), runs: [] as number[], cpu: [] as number[], wait: [] as number[] },
    { name: '1 instance × 2 threads', engine: await engine(tiny, 1, 2, short), runs: [] as number[], cpu: [] as number[], wait: [] as number[] },
    { name: '2 instances × 2 threads (oversubscribed)', engine: await engine(tiny, 2, 2, short), runs: [] as number[], cpu: [] as number[], wait: [] as number[] },
  ];
  for (let run = 0; run < RUNS; run++) {
    for (const c of configurations) {
      const pids = c.engine.servers.pids();
      const before = await Promise.all(pids.map(cpuAndWait));
      c.runs.push(await timed(() => c.engine.transcribe({ path: long })));
      const spent = (await Promise.all(pids.map(cpuAndWait))).map((t, i) => ({ run: (t.runMs - before[i]!.runMs) / 1000, wait: (t.waitMs - before[i]!.waitMs) / 1000 }));
      c.cpu = spent.map((t) => t.run);
      c.wait = spent.map((t) => t.wait);
    }
  }
  const [one, two, threads, oversubscribed] = configurations.map((c) => Math.min(...c.runs)) as [number, number, number, number];

  const pair = configurations[1]!.engine;
  const alone: number[] = [];
  for (let i = 0; i < SHORT_RUNS; i++) alone.push(await timed(() => pair.transcribe({ path: short })));
  const aloneMs = median(alone);
  const during = await shortsDuringLong(pair, long, short, () => pair.stats().busy === 2);

  console.log(`real whisper-server, tiny model (width 32: plumbing, not a real model's inference); ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at the end\n`);
  console.log(
    table([
      [`${MINUTES}-minute file`, `best of ${RUNS}`, 'audio ÷ wall time', 'each whisper-server on a CPU (last run)', 'waiting for one'],
      ...configurations.map((c) => {
        const seconds = (values: number[]) => values.map((s) => `${s.toFixed(1)} s`).join(' + ');
        return [c.name, `${(Math.min(...c.runs) / 1000).toFixed(1)} s`, `${((MINUTES * 60_000) / Math.min(...c.runs)).toFixed(0)}×`, seconds(c.cpu), seconds(c.wait)];
      }),
    ]),
  );
  const shared = configurations[1]!.cpu;
  console.log(`\nlong file, 1 instance ÷ 2 instances (1 thread each): ${(one / two).toFixed(2)}× (goal ≥ 1.7 on 2 cores); 1 instance × 2 threads ÷ 2 instances: ${(threads / two).toFixed(2)}×; 2 instances × 2 threads ÷ 2 × 1 thread: ${(oversubscribed / two).toFixed(2)}×`);
  // With a core free for each, the wall time would follow the busier child: the bound the split allows.
  console.log(`work shared by 2 instances: the busier did ${((100 * Math.max(...shared)) / shared.reduce((a, b) => a + b, 0)).toFixed(0)} % (even: 50 %), so with 2 free cores at most ${(shared.reduce((a, b) => a + b, 0) / Math.max(...shared)).toFixed(2)}×\n`);
  console.log(
    table([
      ['short request (6 s)', 'requests', 'median', 'worst', 'worst ÷ alone median', 'long file'],
      ['alone, 2 instances idle', `${SHORT_RUNS}`, `${aloneMs.toFixed(0)} ms`, `${Math.max(...alone).toFixed(0)} ms`, '1.0', ''],
      during.count === 0
        ? ['during the long file on 2 instances', '0', 'the long file was done first', '', '', `${(during.longMs / 1000).toFixed(1)} s`]
        : ['during the long file on 2 instances', `${during.count}`, `${during.median.toFixed(0)} ms`, `${during.worst.toFixed(0)} ms`, (during.worst / aloneMs).toFixed(1), `${(during.longMs / 1000).toFixed(1)} s`],
    ]),
  );

  if (!REAL_MODEL) {
    console.log('\naccuracy: not measured (set BLINDBOX_WHISPER_MODEL to a real ggml Whisper model, e.g. ggml-base.en.bin, to print its word error rate beside PocketSphinx\'s)');
  } else {
    // Both voices' sentences in one recording, as bench/engine.js scores PocketSphinx.
    const text = [...SCRIPT.slt, ...SCRIPT.rms].join(' ');
    const both = await concatenate([await speak(scratch.dir, 'slt', SCRIPT.slt.join(' '), 'slt'), await speak(scratch.dir, 'rms', SCRIPT.rms.join(' '), 'rms')], path.join(scratch.dir, 'both.wav'));
    const whisper = await engine(REAL_MODEL, 1, availableParallelism(), short);
    const whisperRun = await (async () => {
      const start = performance.now();
      const transcript = await whisper.transcribe({ path: both, language: 'en' });
      return { transcript, ms: performance.now() - start };
    })();
    const sphinx = await createPocketSphinxEngine({ workers: 1, maxQueue: 1 });
    try {
      const sphinxRun = await (async () => {
        const start = performance.now();
        const transcript = await sphinx.transcribe({ path: both });
        return { transcript, ms: performance.now() - start };
      })();
      const row = (name: string, r: typeof whisperRun) => {
        const wer = wordErrorRate(text, r.transcript.text);
        return [name, `${(wer.rate * 100).toFixed(1)} %`, `${wer.errors} / ${wer.referenceWords}`, (r.ms / 1000 / r.transcript.duration).toFixed(2)];
      };
      console.log(`\naccuracy on flite's sentences (${text.split(' ').length} words, both voices)\n`);
      console.log(table([['engine', 'word error rate', 'errors', 'real-time factor'], row(`whisper ${path.basename(REAL_MODEL)}`, whisperRun), row('pocketsphinx', sphinxRun)]));
    } finally {
      await sphinx.close();
    }
  }
} finally {
  await Promise.all(engines.map((e) => e.close()));
  await scratch.dispose();
}
