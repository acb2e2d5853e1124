/**
 * `node out/bench/memory.js`: how much memory two bounded paths take, as the growth of this process's peak RSS
 * (sampled every 5 ms; the engine's workers are threads in it) divided by what the unbounded path would hold.
 * Prints figures only; it never asserts them (RSS moves with the machine's load and the collector).
 *
 *   (1) whisper-http upload   a 128 MB WAV (70 min) decoded and sent in pieces to a loopback stand-in for whisper.cpp
 *                              ÷ its whole decode as floats, 256 MB (goal < 0.5: decoded as it streams from disk and
 *                              sent piece by piece, never held whole; what remains is mostly decoded blocks that the
 *                              collector has not freed yet)
 *   (2) decode bomb           20 min of 48 kHz FLAC silence with no stated length, refused TOO_LONG at 1 min
 *                              ÷ the whole decode as floats, 230 MB (goal < 0.5: refused as it decodes)
 */
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { wavHeader } from '../src/server/engine/whisper/client.js';
import { createWhisperEngine } from '../src/server/engine/whisper/engine.js';
import { silentFlac } from '../support/decoder-bombs.js';
import { scratchDir } from '../support/speech.js';
import { table } from './stats.js';

const MB = 2 ** 20;
const UPLOAD_BYTES = 128 * MB;
const BOMB = { rate: 48_000, channels: 1, seconds: 20 * 60, unknownLength: true };

/** Peak RSS growth while `run` runs, in bytes. */
async function peakGrowth(run: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return peak - before;
}

const scratch = await scratchDir();
try {
  const big = path.join(scratch.dir, 'big.wav');
  const out = await open(big, 'w');
  await out.write(wavHeader(UPLOAD_BYTES / 2));
  const block = Buffer.alloc(MB, 1);
  for (let i = 0; i < UPLOAD_BYTES / MB; i++) await out.write(block);
  await out.close();
  let drained = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (drained += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: '', segments: [] })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const whisper = createWhisperEngine({ upstreams: [new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)], timeoutMs: 60_000 });
  const upload = await peakGrowth(() => whisper.transcribe({ path: big }));
  await whisper.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  const wholeUpload = (UPLOAD_BYTES / 2) * 4;
  if (drained < UPLOAD_BYTES) throw new Error(`the stand-in received ${drained} bytes of ${UPLOAD_BYTES}`);

  const bomb = await silentFlac(scratch.dir, 'bomb', BOMB);
  const engine = await createPocketSphinxEngine({ workers: 1, maxSeconds: 60 });
  let outcome = 'decoded';
  const decode = await peakGrowth(() => engine.transcribe({ path: bomb }).catch((err: { code?: string }) => (outcome = `refused ${err.code ?? err}`)));
  await engine.close();
  const wholeDecode = BOMB.rate * BOMB.channels * BOMB.seconds * 4;

  console.log('peak RSS growth of this process against what the unbounded path would hold\n');
  console.log(
    table([
      ['path', 'outcome', 'RSS growth', 'unbounded', 'ratio', 'goal'],
      ['(1) whisper-http upload, 128 MB', `sent ${(drained / MB).toFixed(0)} MB`, `${(upload / MB).toFixed(0)} MB`, `${(wholeUpload / MB).toFixed(0)} MB`, (upload / wholeUpload).toFixed(2), '< 0.5'],
      ['(2) FLAC bomb, no stated length', outcome, `${(decode / MB).toFixed(0)} MB`, `${(wholeDecode / MB).toFixed(0)} MB`, (decode / wholeDecode).toFixed(2), '< 0.5'],
    ]),
  );
} finally {
  await scratch.dispose();
}
