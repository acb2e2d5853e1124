/**
 * One upload client for bench/upload.ts, in its own process so that its peak RSS is its own.
 * Usage: upload-client <pinned|plain|baseline> <url> <root.pem> <file>.
 *
 * - pinned:   connect + attest, then `session.transcribe` of the file (the client core's upload).
 * - plain:    the same multipart body over plain HTTPS with undici (no attestation, no hashing).
 * - baseline: the same modules imported, nothing sent: what the Node process costs before any upload.
 *
 * Prints one JSON line: `ms` (the upload), `maxRssKb` (the process's peak RSS, VmHWM), `status` (the server's
 * answer), `sentBytes` (file bytes handed to the connection), `beforeRssKb` (RSS just before the upload), `fileRssKb`
 * (RSS backed by files at the end: Node's own code and libraries) and `peak` (largest `process.memoryUsage()` fields
 * sampled during the upload, in KiB).
 */
import { openAsBlob, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FormDataEncoder } from 'form-data-encoder';
import { Client } from 'undici';
import { ChannelError, connect, fileSource, loadRootFile, AWS_NITRO_ROOT_G1 } from '../src/core/index.js';

const [mode, url, rootPem, file] = process.argv.slice(2) as [string, string, string, string];

type Peak = Record<'rss' | 'heapUsed' | 'heapTotal' | 'external' | 'arrayBuffers', number>;
const peak: Peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
function sampleMemory(): void {
  const now = process.memoryUsage();
  for (const key of Object.keys(peak) as (keyof Peak)[]) peak[key] = Math.max(peak[key], Math.round(now[key] / 1024));
}

/** Runs `upload` while sampling memory every 20 ms; returns its duration. */
async function timed(upload: () => Promise<void>): Promise<number> {
  const sampler = setInterval(sampleMemory, 20);
  const start = performance.now();
  try {
    await upload();
  } finally {
    clearInterval(sampler);
    sampleMemory();
  }
  return performance.now() - start;
}

/**
 * This process's peak RSS in KiB: VmHWM, the high-water mark of its own address space since exec. Not
 * `process.resourceUsage().maxRSS`: Linux carries getrusage's maxrss across execve, so a child spawned by a large
 * parent (this bench's, which runs the server and its decoder) reports the parent's RSS at fork time.
 */
function peakRssKb(): number {
  return statusKb('VmHWM');
}

/** A field of /proc/self/status, in KiB. */
function statusKb(field: string): number {
  const value = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!value) throw new Error(`no ${field} in /proc/self/status (this benchmark needs Linux)`);
  return Number(value[1]);
}

let status = 0;
let sentBytes = 0;
let elapsed = 0;
let beforeRssKb = Math.round(process.memoryUsage().rss / 1024);
if (mode === 'pinned') {
  const session = await connect(url, { roots: [AWS_NITRO_ROOT_G1, ...(await loadRootFile(rootPem))] });
  const source = await fileSource(file, Number.MAX_SAFE_INTEGER);
  beforeRssKb = Math.round(process.memoryUsage().rss / 1024);
  elapsed = await timed(async () => {
    try {
      await session.transcribe(source, { onProgress: (sent) => (sentBytes = sent) });
    } catch (err) {
      if (!(err instanceof ChannelError) || err.status === undefined) throw err;
      status = err.status;
    }
  });
  await session.close();
} else if (mode === 'plain') {
  const client = new Client(url, { connect: { rejectUnauthorized: false } });
  const form = new FormData();
  form.set('response_format', 'text');
  const blob = await openAsBlob(file);
  form.set('file', blob, path.basename(file));
  const encoder = new FormDataEncoder(form);
  const framing = Number(encoder.contentLength) - blob.size;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of encoder.encode()) {
      sentBytes += chunk.length;
      yield chunk;
    }
  }
  elapsed = await timed(async () => {
    const res = await client.request({ path: '/v1/audio/transcriptions', method: 'POST', headers: { ...encoder.headers }, body: Readable.from(counted()), headersTimeout: 600_000 });
    status = res.statusCode;
    await res.body.dump();
  });
  sentBytes -= framing; // file bytes, as the pinned client's progress counts them
  await client.close();
} else if (mode !== 'baseline') {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify({ ms: elapsed, maxRssKb: peakRssKb(), fileRssKb: statusKb('RssFile'), status, sentBytes, beforeRssKb, peak }) + '\n');
