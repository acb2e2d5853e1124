/**
 * Upload benchmark: throughput of a large upload over the attested, pinned
 * channel versus plain HTTPS to the same server in the same run, and the
 * client's peak RSS while uploading 1 GiB (each client runs in its own process,
 * so the server's memory is not counted), split into what a bare Node process
 * with the same modules costs and what the upload adds. Prints figures; asserts
 * no timing.
 *
 * The file is a real WAV (a 16 kHz mono PCM header, then its samples), so the
 * client core's format check passes; the server's engine takes at most one
 * second of audio, so once the whole upload is received its probe refuses it
 * with 413 (TOO_LONG, from the header's duration over the received size): what
 * is timed is the transfer. The run fails if a client was not answered 413 or
 * did not send every byte of the file.
 *
 * BENCH_UPLOAD_BYTES sets the file size (default 1 GiB).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer } from '../src/server/server.js';
import { ms, table } from './stats.js';
import { makeFile } from './wav-file.js';

const SIZE = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 ** 3);
const CLIENT = fileURLToPath(new URL('./upload-client.js', import.meta.url));

type Mode = 'pinned' | 'plain' | 'baseline';
interface ClientRun {
  ms: number;
  maxRssKb: number;
  fileRssKb: number;
  status: number;
  sentBytes: number;
  beforeRssKb: number;
  peak: Record<'rss' | 'heapUsed' | 'heapTotal' | 'external' | 'arrayBuffers', number>;
}

async function runClient(mode: Mode, url: string, rootPem: string, file: string): Promise<ClientRun> {
  const child = spawn(process.execPath, [CLIENT, mode, url, rootPem, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`the ${mode} client exited with ${code}`);
  const run = JSON.parse(out) as ClientRun;
  // Only a whole upload is a measurement: the server answers 413 after receiving all of it, and every byte was sent.
  if (mode !== 'baseline' && (run.status !== 413 || run.sentBytes !== SIZE)) throw new Error(`the ${mode} client sent ${run.sentBytes} of ${SIZE} bytes and was answered ${run.status}, not 413 after the whole upload`);
  return run;
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const dir = path.join(tmpdir(), `blindbox-upload-bench-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'upload.bin');
  const rootPem = path.join(dir, 'root.pem');
  try {
    await makeFile(file, SIZE);
    const engine = await createPocketSphinxEngine({ workers: 1, maxSeconds: 1 });
    const server = await startSimulationServer({ engine, limits: { maxUploadBytes: SIZE + 1024 * 1024 } });
    await writeFile(rootPem, server.provider.rootPem);
    const runs: Record<Mode, ClientRun[]> = { pinned: [], plain: [], baseline: [] };
    for (let i = 0; i < 2; i++) {
      for (const mode of ['baseline', 'pinned', 'plain'] as const) runs[mode].push(await runClient(mode, server.url, rootPem, file));
    }
    await server.close();
    const best = (mode: 'pinned' | 'plain') => runs[mode].reduce((a, b) => (a.ms < b.ms ? a : b));
    const bare = runs.baseline.reduce((a, b) => (a.maxRssKb > b.maxRssKb ? a : b));
    const baseline = bare.maxRssKb;
    const mbps = (r: { ms: number }) => SIZE / 1024 / 1024 / (r.ms / 1000);
    const pinned = best('pinned');
    const plain = best('plain');
    console.log(`\nUpload of a ${(SIZE / 1024 ** 3).toFixed(2)} GiB WAV (multipart, streamed from disk), best of 2 per mode; every byte sent, server answered HTTP 413 after the whole upload\n`);
    const row = (name: string, r: ClientRun) => [name, `${ms(r.ms)} ms`, mbps(r).toFixed(0), mb(r.maxRssKb), `+${mb(r.maxRssKb - baseline)}`, mb(r.beforeRssKb), mb(r.peak.heapUsed), mb(r.peak.external), mb(r.peak.arrayBuffers)];
    console.log(
      table([
        ['mode', 'time', 'MiB/s', 'peak RSS', 'over baseline', 'RSS before upload', 'peak heapUsed', 'peak external', 'peak arrayBuffers'],
        row('attested + pinned', pinned),
        row('plain HTTPS', plain),
      ]),
    );
    console.log(`\nbaseline: a Node ${process.version} process importing the same modules and sending nothing peaks at ${mb(baseline)} RSS (${mb(bare.fileRssKb)} of it file-backed: Node's own code and libraries)`);
    const ratio = mbps(pinned) / mbps(plain);
    console.log(`throughput ratio pinned/plain ${ratio.toFixed(3)} (goal ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}); client peak RSS ${mb(pinned.maxRssKb)}, ${mb(baseline)} of it the bare process (goal < 64 MB: ${pinned.maxRssKb < 64 * 1024 ? 'met' : 'NOT met'})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
