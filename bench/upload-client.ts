/**
 * One upload client for bench/upload.ts, in its own process so that its peak
 * RSS is its own. Usage: upload-client <pinned|plain> <url> <root.pem> <file>.
 * Prints `{"ms","maxRssKb","status"}`.
 */
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FormDataEncoder } from 'form-data-encoder';
import { Client } from 'undici';
import { ChannelError, connect, fileSource, loadRootFile, AWS_NITRO_ROOT_G1 } from '../src/core/index.js';

const [mode, url, rootPem, file] = process.argv.slice(2) as [string, string, string, string];
let status = 0;
let elapsed: number;
if (mode === 'pinned') {
  const session = await connect(url, { roots: [AWS_NITRO_ROOT_G1, ...(await loadRootFile(rootPem))] });
  const source = await fileSource(file, Number.MAX_SAFE_INTEGER);
  const start = performance.now();
  try {
    await session.transcribe(source);
  } catch (err) {
    if (!(err instanceof ChannelError) || err.status === undefined) throw err;
    status = err.status;
  }
  elapsed = performance.now() - start;
  await session.close();
} else {
  const client = new Client(url, { connect: { rejectUnauthorized: false } });
  const form = new FormData();
  form.set('response_format', 'text');
  form.set('file', await openAsBlob(file), path.basename(file));
  const encoder = new FormDataEncoder(form);
  const start = performance.now();
  const res = await client.request({ path: '/v1/audio/transcriptions', method: 'POST', headers: { ...encoder.headers }, body: Readable.from(encoder.encode()), headersTimeout: 600_000 });
  status = res.statusCode;
  await res.body.dump();
  elapsed = performance.now() - start;
  await client.close();
}
process.stdout.write(JSON.stringify({ ms: elapsed, maxRssKb: process.resourceUsage().maxRSS, status }) + '\n');
