/**
 * Upload benchmark: throughput of a large upload over the attested, pinned
 * channel versus plain HTTPS to the same server in the same run, and the
 * client's peak RSS while uploading 1 GB (each client runs in its own process,
 * so the server's memory is not counted). Prints figures; asserts nothing.
 *
 * The server keeps its engine but the upload is not audio, so it answers 400
 * right after receiving it: what is timed is the transfer.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer } from '../src/server/server.js';
import { ms, table } from './stats.js';

const SIZE = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 ** 3);
const CLIENT = fileURLToPath(new URL('./upload-client.js', import.meta.url));

async function makeFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  const block = Buffer.alloc(4 * 1024 * 1024, 0x5a);
  for (let written = 0; written < size; written += block.length) await handle.write(block, 0, Math.min(block.length, size - written));
  await handle.close();
}

async function runClient(mode: 'pinned' | 'plain', url: string, rootPem: string, file: string): Promise<{ ms: number; maxRssKb: number; status: number }> {
  const child = spawn(process.execPath, [CLIENT, mode, url, rootPem, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await once(child, 'close');
  return JSON.parse(out);
}

async function main(): Promise<void> {
  const dir = path.join(tmpdir(), `blindbox-upload-bench-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'upload.bin');
  const rootPem = path.join(dir, 'root.pem');
  try {
    await makeFile(file, SIZE);
    const engine = await createPocketSphinxEngine({ workers: 1 });
    const server = await startSimulationServer({ engine, limits: { maxUploadBytes: SIZE + 1024 * 1024 } });
    await writeFile(rootPem, server.provider.rootPem);
    const runs: Record<'pinned' | 'plain', { ms: number; maxRssKb: number; status: number }[]> = { pinned: [], plain: [] };
    for (let i = 0; i < 2; i++) {
      for (const mode of ['pinned', 'plain'] as const) runs[mode].push(await runClient(mode, server.url, rootPem, file));
    }
    await server.close();
    const best = (mode: 'pinned' | 'plain') => runs[mode].reduce((a, b) => (a.ms < b.ms ? a : b));
    const mbps = (r: { ms: number }) => SIZE / 1024 / 1024 / (r.ms / 1000);
    const pinned = best('pinned');
    const plain = best('plain');
    console.log(`\nUpload of ${(SIZE / 1024 ** 3).toFixed(2)} GiB (multipart, streamed from disk), best of 2 per mode, server answered HTTP ${pinned.status}\n`);
    console.log(
      table([
        ['mode', 'time', 'MiB/s', 'client peak RSS'],
        ['attested + pinned', `${ms(pinned.ms)} ms`, mbps(pinned).toFixed(0), `${(pinned.maxRssKb / 1024).toFixed(0)} MB`],
        ['plain HTTPS', `${ms(plain.ms)} ms`, mbps(plain).toFixed(0), `${(plain.maxRssKb / 1024).toFixed(0)} MB`],
      ]),
    );
    const ratio = mbps(pinned) / mbps(plain);
    console.log(`\nthroughput ratio pinned/plain ${ratio.toFixed(3)} (goal ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}); client peak RSS ${(pinned.maxRssKb / 1024).toFixed(0)} MB (goal < 64 MB: ${pinned.maxRssKb < 64 * 1024 ? 'met' : 'NOT met'})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
