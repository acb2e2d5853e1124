/**
 * `node out/bench/whisper-fairness.js`: how long a short request waits while a long one is transcribed by the Whisper
 * engine, against the same short request alone. The whisper.cpp servers are loopback stand-ins
 * (support/fake-whisper.ts) that take BENCH_WHISPER_MS_PER_SECOND (default 10) ms per second of audio, one request at
 * a time each, so the figures measure the engine's scheduling, not a model. The long file is BENCH_WHISPER_MINUTES
 * (default 10) of tone bursts with pauses; the short one 6 s.
 *
 *   alone        the short request on an idle engine (5 times)
 *   fair         the same, sent one after another while the long file is split over 2 servers
 *   one server   the same, while the long file runs unsplit on 1 server: one whole file ahead, as whisper.cpp's single
 *                lock made it for every user of an enclave
 *
 * Prints the median and worst latencies, the worst's ratio to the median alone (goal for `fair`: about one piece's
 * time, a few times `alone`, not the long file's length), and the long file's time on 1 and 2 servers. Prints figures only; it never asserts timing.
 */
import type { TranscriptionEngine } from '../src/server/engine/engine.js';
import { createWhisperEngine } from '../src/server/engine/whisper/engine.js';
import { startFakeWhisper, type FakeWhisper } from '../support/fake-whisper.js';
import { bursts, scratchDir } from '../support/speech.js';
import { median, table } from './stats.js';
import { shortsDuringLong, timed } from './whisper-load.js';

const MS_PER_SECOND = Number(process.env.BENCH_WHISPER_MS_PER_SECOND ?? 10);
const MINUTES = Number(process.env.BENCH_WHISPER_MINUTES ?? 10);
const SHORT_RUNS = 5;

const scratch = await scratchDir();
const fakes: FakeWhisper[] = [];
const engines: TranscriptionEngine[] = [];
try {
  const long = (await bursts(scratch.dir, 'long', Math.round((MINUTES * 60) / 3))).path;
  const short = (await bursts(scratch.dir, 'short', 2)).path;
  const setup = async (servers: number, split: boolean) => {
    const upstreams = await Promise.all(Array.from({ length: servers }, () => startFakeWhisper({ version: '1.8.5', msPerAudioSecond: MS_PER_SECOND })));
    fakes.push(...upstreams);
    const engine = createWhisperEngine({ upstreams: upstreams.map((u) => u.url), timeoutMs: 10 * 60_000, splitSeconds: split ? undefined : Infinity });
    engines.push(engine);
    return { engine, upstreams };
  };
  const { engine: idle } = await setup(2, true);
  await idle.transcribe({ path: short }); // warm-up: the resampler's WebAssembly, the JIT
  const alone: number[] = [];
  for (let i = 0; i < SHORT_RUNS; i++) alone.push(await timed(() => idle.transcribe({ path: short })));
  const aloneMs = median(alone);
  const duringLong = async ({ engine, upstreams }: Awaited<ReturnType<typeof setup>>) => shortsDuringLong(engine, long, short, () => upstreams.every((u) => u.started() > 0));
  const fair = await duringLong(await setup(2, true));
  const single = await duringLong(await setup(1, false));

  console.log(`short request (6 s) while a ${MINUTES}-minute file is transcribed; stand-ins take ${MS_PER_SECOND} ms per audio second\n`);
  const row = (name: string, r: typeof fair) => [name, `${r.count}`, `${r.median.toFixed(0)} ms`, `${r.worst.toFixed(0)} ms`, (r.worst / aloneMs).toFixed(1), `${(r.longMs / 1000).toFixed(1)} s`];
  console.log(
    table([
      ['case', 'short requests', 'median', 'worst', 'worst ÷ alone median', 'long file'],
      ['alone', `${SHORT_RUNS}`, `${aloneMs.toFixed(0)} ms`, `${Math.max(...alone).toFixed(0)} ms`, '1.0', ''],
      row('fair: split over 2 servers', fair),
      row('one server, unsplit', single),
    ]),
  );
  console.log(`\nlong file, 1 unsplit ÷ 2 split servers: ${(single.longMs / fair.longMs).toFixed(2)}× (goal ≈ 2)`);
} finally {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(fakes.map((f) => f.close()));
  await scratch.dispose();
}
