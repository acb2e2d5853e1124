/**
 * `node out/bench/hostile.js`: what a hostile load costs a legitimate user. The reference server runs as its own
 * process (`serve --simulate --engine pocketsphinx --workers 1`); a legitimate client transcribes a flite sentence
 * BENCH_LEGIT times (default 10) alone, then the same number of times while `support/hostile-load.ts` attacks
 * the server (malformed targets, broken chunks, early disconnects, aborted uploads, slow-loris headers and bodies,
 * oversized headers, WAV chunk bombs, idle handshakes, storage fillers and slow uploads against a 64 MiB upload
 * budget; idle connections from 8 addresses filling the connection cap, an attestation flood). Prints latency p50/p95 of
 * both phases and their ratio, from one run; asserts nothing. The attackers run in this process, so they share the machine's two cores with the server
 * as a real attacker on the same host would.
 */
import path from 'node:path';
import { connect, fileSource, loadRootFile } from '../src/core/index.js';
import { startServe } from '../support/cli.js';
import { hostileLoad } from '../support/hostile-load.js';
import { SCRIPT, scratchDir, speak } from '../support/speech.js';
import { ms, quantile, table } from './stats.js';

const LEGIT = Number(process.env.BENCH_LEGIT ?? 10);

const scratch = await scratchDir();
const rootFile = path.join(scratch.dir, 'root.pem');
// The upload budget the load's storage fillers are sized for (two fill it).
const serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--upload-budget-mb', '64', '--trust-out', rootFile]);
try {
  const roots = await loadRootFile(rootFile);
  const wav = await speak(scratch.dir, 'rms', SCRIPT.rms[1]!, 'legit');
  const reference = { text: '' };

  /** One legitimate transcription (attest, upload, answer) in ms; checks it gives the unloaded text. */
  const once = async (): Promise<number> => {
    const started = performance.now();
    const session = await connect(serve.url, { roots });
    try {
      const { text } = await session.transcribe(await fileSource(wav), { format: 'text' });
      reference.text ||= text;
      if (text !== reference.text) throw new Error(`a different transcript under load: ${text}`);
    } finally {
      await session.close();
    }
    return performance.now() - started;
  };
  const series = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await once());
    return out;
  };

  await once(); // warm-up: TLS, the worker, the caches
  const alone = await series(LEGIT);
  const stop = new AbortController();
  const attacks = hostileLoad({ url: serve.url, durationMs: 10 * 60_000, signal: stop.signal });
  await new Promise((r) => setTimeout(r, 3_000)); // every kind of attack under way
  const loaded = await series(LEGIT);
  stop.abort();
  const counts = await attacks;

  const row = (name: string, v: number[]) => [name, ms(quantile(v, 0.5)), ms(quantile(v, 0.95))];
  console.log(`\nLegitimate transcription latency (connect + attest + upload + decode of a ${SCRIPT.rms[1]!.split(' ').length}-word sentence), ${LEGIT} each:\n`);
  console.log(
    table([
      ['phase', 'p50 ms', 'p95 ms'],
      row('alone', alone),
      row('under hostile load', loaded),
      ['ratio', `${(quantile(loaded, 0.5) / quantile(alone, 0.5)).toFixed(2)}×`, `${(quantile(loaded, 0.95) / quantile(alone, 0.95)).toFixed(2)}×`],
    ]),
  );
  console.log(`\nattacks made: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
} finally {
  await serve.stop('SIGTERM');
  await scratch.dispose();
}
