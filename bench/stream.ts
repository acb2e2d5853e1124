/**
 * `node out/bench/stream.js`: time to first words vs total time of one long file (BENCH_STREAM_MINUTES, default 10,
 * of flite sentences with pauses) transcribed as a stream through the real server (simulation) with PocketSphinx on
 * BENCH_WORKERS (default 2) workers and the engine's default split, by the client core over an attested session:
 * when the first segment reached the client, when the verified transcript was returned, their ratio (the goal is at
 * most 1/5), and the same file unstreamed for the cost of streaming. Prints figures only; it never asserts timing.
 */
import { availableParallelism, loadavg } from 'node:os';
import { connect, fileSource } from '../src/core/index.js';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startSimulationServer } from '../support/servers.js';
import { longRecording, scratchDir } from '../support/speech.js';
import { table } from './stats.js';

const MINUTES = Number(process.env.BENCH_STREAM_MINUTES ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

const scratch = await scratchDir();
const server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: WORKERS }) });
try {
  const recording = await longRecording(scratch.dir, 'long', MINUTES, 0.8);
  const session = await connect(server.url, { roots: rootsTrusting(server) });
  try {
    const loadBefore = loadavg()[0]!;
    const start = performance.now();
    let first: number | undefined;
    let segments = 0;
    const streamed = await session.transcribeStream(await fileSource(recording.path), {
      onSegment: () => {
        first ??= performance.now() - start;
        segments++;
      },
    });
    const total = performance.now() - start;
    const plainStart = performance.now();
    const plain = await session.transcribe(await fileSource(recording.path), { format: 'text' });
    const plainTotal = performance.now() - plainStart;
    const s = (ms: number) => (ms / 1000).toFixed(1);
    console.log(`\nStreamed transcription: ${(recording.samples / 16_000 / 60).toFixed(1)} min of flite speech, PocketSphinx on ${WORKERS} workers, ${availableParallelism()} cores, load ${loadBefore.toFixed(1)} before\n`);
    console.log(
      table([
        ['what', 'seconds'],
        ['first segment at the client', s(first ?? total)],
        ['verified transcript returned (stream)', s(total)],
        ['the same file unstreamed', s(plainTotal)],
      ]),
    );
    console.log(`\ntime to first words ÷ total: ${((first ?? total) / total).toFixed(3)} (1/${(total / (first ?? total)).toFixed(0)}; goal ≤ 1/5), ${segments} segments; stream ÷ unstreamed total ${(total / plainTotal).toFixed(2)}; same text: ${streamed.text === plain.text ? 'yes' : 'NO'}`);
  } finally {
    await session.close();
  }
} finally {
  await server.close();
  await scratch.dispose();
}
