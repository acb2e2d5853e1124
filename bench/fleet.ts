/**
 * Benchmark of a fleet behind HAProxy (mode tcp, round robin), in one run: batch throughput (seconds of audio per
 * wall-clock second) with 1, 2 and 3 replicas (`serve --simulate --ca`, one pocketsphinx worker each, separate
 * processes), and the cost of a request on a newly attested connection against one on a reused connection.
 * Prints figures; asserts nothing. On a machine with fewer cores than replicas the curve flattens at the core count.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AWS_NITRO_ROOT_G1, connect, fileSource, loadRootFile, type AudioSource } from '../src/core/index.js';
import { startServe, type ServeProcess } from '../support/cli.js';
import { startHaproxy } from '../support/haproxy.js';
import { SCRIPT, scratchDir, speak } from '../support/speech.js';
import { median, ms, table } from './stats.js';

/** Files per batch (the six sentences, twice) and files at once. */
const COPIES = 2;
const CONCURRENCY = 4;
const CONNECTS = 30;
const REUSES = 300;

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Seconds of 16 kHz mono 16-bit PCM in a WAV file flite wrote (44-byte header). */
async function wavSeconds(file: string): Promise<number> {
  return ((await stat(file)).size - 44) / 32_000;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-bench-fleet-'));
  const speech = await scratchDir();
  const replicas: ServeProcess[] = [];
  try {
    const sentences = [...SCRIPT.slt.map((t) => ['slt', t] as const), ...SCRIPT.rms.map((t) => ['rms', t] as const)];
    const wavs = await Promise.all(sentences.map(([voice, text], i) => speak(speech.dir, voice, text, `s${i}`)));
    const audioSeconds = (await Promise.all(wavs.map(wavSeconds))).reduce((a, b) => a + b, 0) * COPIES;
    const sources: AudioSource[] = (await Promise.all(wavs.map((w) => fileSource(w)))).flatMap((s) => Array.from({ length: COPIES }, () => s));
    const rootPem = path.join(dir, 'root.pem');
    for (let i = 0; i < 3; i++) replicas.push(await startServe(['--simulate', '--ca', path.join(dir, 'ca'), '--engine', 'pocketsphinx', '--workers', '1', ...(i === 0 ? ['--trust-out', rootPem] : [])]));
    const roots = [AWS_NITRO_ROOT_G1, ...(await loadRootFile(rootPem))];

    const rows: string[][] = [['replicas', 'files', 'audio s', 'wall s', 'audio s / wall s', 'vs 1 replica']];
    let single = 0;
    for (const n of [1, 2, 3]) {
      const balancer = await startHaproxy(replicas.slice(0, n).map((r) => r.url));
      const session = await connect(balancer.url, { roots, maxConnections: CONCURRENCY });
      try {
        // One warm-up file per connection, so that the figure is decoding, not the engine's first load.
        await Promise.all(sources.slice(0, CONCURRENCY).map((s) => session.transcribe(s)));
        let next = 0;
        const wall = await timeAsync(() =>
          Promise.all(
            Array.from({ length: CONCURRENCY }, async () => {
              while (next < sources.length) await session.transcribe(sources[next++]!);
            }),
          ),
        );
        const rate = audioSeconds / (wall / 1000);
        if (n === 1) single = rate;
        rows.push([String(n), String(sources.length), audioSeconds.toFixed(1), (wall / 1000).toFixed(2), rate.toFixed(2), `${(rate / single).toFixed(2)}×`]);
      } finally {
        await session.close();
        await balancer.stop();
      }
    }
    console.log(`\nBatch throughput behind HAProxy (mode tcp, round robin), ${CONCURRENCY} files at once, one pocketsphinx worker per replica\n`);
    console.log(table(rows));

    // A new attested connection (TLS + GET /attestation with a fresh nonce + verification, then the request) against
    // a request on a connection the session already attested, alternated so machine noise falls on both alike.
    const session = await connect(replicas[0]!.url, { roots, maxConnections: 1 });
    try {
      const request = async () => (await session.request('/healthz')).body.dump();
      const fresh: number[] = [];
      const reused: number[] = [];
      for (let i = 0; i < CONNECTS; i++) {
        fresh.push(await timeAsync(async () => {
          await session.reattest();
          await request();
        }));
        for (let j = 0; j < REUSES / CONNECTS; j++) reused.push(await timeAsync(request));
      }
      console.log('\nA request on a newly attested connection vs on a reused attested connection (one replica, loopback)\n');
      console.log(
        table([
          ['measure', 'median', 'ratio'],
          [`new connection, attested, + request (median of ${CONNECTS})`, `${ms(median(fresh))} ms`, `${(median(fresh) / median(reused)).toFixed(1)}×`],
          [`request on a reused connection (median of ${reused.length})`, `${ms(median(reused))} ms`, '1×'],
        ]),
      );
    } finally {
      await session.close();
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
    await speech.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
