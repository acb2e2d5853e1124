/**
 * Storage exhaustion, as an attacker does it: `blindbox serve` whose temporary directory is a 64 MiB tmpfs (a private
 * mount namespace, as small as an enclave's RAM-backed /tmp is for its size), raw TLS uploads that fill it and then
 * dribble, a chunked upload that never ends, and a filesystem filled behind an admitted upload's back. A legitimate
 * transcription must still succeed, every refusal must be `INSUFFICIENT_STORAGE` with `Retry-After` (never a 500),
 * and no upload file may be left.
 */
import assert from 'node:assert/strict';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, it } from 'node:test';
import { loadRootFile, type TrustedRoot } from '../../src/core/index.js';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { transcribeText } from '../../support/servers.js';
import { settle, uploadDirs } from '../helpers/process-stats.js';
import { drained, errorCode, filePartHead, openTls, readAnswer, uploadHead, type RawAnswer } from '../../support/raw-client.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';

const MiB = 1024 * 1024;
/** Three of these fill the 64 MiB tmpfs; two fit beside a legitimate upload once a reserve is kept. */
const FILLER = 21 * MiB;

let serve: ServeProcess;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let roots: TrustedRoot[];
let wav: string;
/** The server's temporary directory, seen from outside its mount namespace. */
let serverTmp: string;
const sockets: TLSSocket[] = [];

before(async () => {
  scratch = await scratchDir();
  const tmp = path.join(scratch.dir, 'tmp');
  await mkdir(tmp);
  wav = await speak(scratch.dir, 'rms', SCRIPT.rms[1]!, 'legit');
  const rootFile = path.join(scratch.dir, 'root.pem');
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--trust-out', rootFile], {}, { dir: tmp, sizeMb: 64 });
  serverTmp = `/proc/${serve.child.pid}/root${tmp}`;
  roots = await loadRootFile(rootFile);
});

after(async () => {
  for (const s of sockets) s.destroy();
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
});

/**
 * A filler: declares `bytes` of file, sends all but the last KiB as fast as the server takes it, then dribbles a byte
 * every 5 s. `sent` is what the server has taken so far (written and flushed).
 */
async function filler(bytes: number): Promise<{ socket: TLSSocket; answer: Promise<RawAnswer | undefined>; sent: () => number }> {
  const socket = await openTls(serve.url);
  sockets.push(socket);
  socket.on('error', () => {});
  const head = filePartHead();
  const tail = `\r\n--hostileBoundary--\r\n`;
  socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: head.length + bytes + tail.length }) + head);
  let answered = false;
  const answer = readAnswer(socket, 120_000).finally(() => (answered = true));
  let written = 0;
  const sent = () => written - socket.writableLength;
  void (async () => {
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    while (!answered && !socket.destroyed && written + chunk.length < bytes - 1024) {
      written += chunk.length;
      if (!socket.write(chunk)) await drained(socket);
    }
    while (!answered && !socket.destroyed) {
      socket.write('A');
      written++;
      await new Promise((r) => setTimeout(r, 5_000));
    }
  })();
  // Until the server has taken all it will (or answered).
  await settle(async () => sent(), (n) => answered || n >= bytes - 1024 - 256 * 1024, 2_000, 100);
  return { socket, answer, sent };
}

function assertRefused(answer: RawAnswer | undefined, what: string): void {
  assert.equal(answer?.status, 503, `${what}: ${answer?.status} ${answer?.body}`);
  assert.equal(errorCode(answer), 'INSUFFICIENT_STORAGE', `${what}: ${answer?.body}`);
  assert.match(answer?.headers['retry-after'] ?? '', /^\d+$/, `${what} says when to retry`);
}

const transcribeOnce = () => transcribeText(serve.url, roots, wav);

it('fillers holding their uploads leave room for a legitimate transcription; what cannot be stored waits unread, or is refused', async () => {
  const first = await filler(FILLER);
  const second = await filler(FILLER);
  assert.ok(first.sent() > FILLER / 2 && second.sent() > FILLER / 2, 'two fillers are taken in');

  // Larger than the tmpfs could ever hold (but within the upload limit): refused at once.
  const huge = await openTls(serve.url);
  huge.on('error', () => {});
  const hugeAnswer = readAnswer(huge, 10_000);
  huge.write(uploadHead('/v1/audio/transcriptions', { contentLength: 100 * MiB }) + filePartHead());
  const refused = await hugeAnswer;
  assert.equal(refused?.status, 413, refused?.body);
  assert.equal(errorCode(refused), 'INSUFFICIENT_STORAGE');

  // A third does not fit beside them: it waits its turn, its body not taken.
  const third = await filler(FILLER);
  assert.ok(third.sent() < 8 * MiB, `the third filler's body is not taken while it waits (${third.sent()} bytes flushed)`);

  const text = await transcribeOnce();
  assert.ok(wordErrorRate(SCRIPT.rms[1]!, text).rate <= 0.25, `the legitimate transcript: ${text}`);

  // Once a stalled filler has dribbled for a while, the one waiting cuts it and takes its storage.
  const cut = await Promise.race([first.answer, second.answer]);
  assert.equal(cut?.status, 408, cut?.body);
  assert.equal(errorCode(cut), 'BODY_TOO_SLOW');
  await settle(async () => third.sent(), (n) => n > FILLER / 2, 10_000);
  assert.ok(third.sent() > FILLER / 2, 'the third filler is taken in once it has room');

  // No length declared: refused once what it streams passes the room left.
  const chunked = await openTls(serve.url);
  chunked.on('error', () => {});
  const chunkedAnswer = readAnswer(chunked, 60_000);
  const frame = (b: Buffer | string) => Buffer.concat([Buffer.from(`${Buffer.byteLength(b).toString(16)}\r\n`), Buffer.from(b), Buffer.from('\r\n')]);
  chunked.write(uploadHead('/v1/audio/transcriptions', { chunked: true }));
  chunked.write(frame(filePartHead()));
  for (let i = 0; i < 200 && !chunked.destroyed; i++) {
    chunked.write(frame(Buffer.alloc(256 * 1024, 0x42)));
    await new Promise((r) => setTimeout(r, 5));
  }
  assertRefused(await chunkedAnswer, 'the chunked upload');

  for (const f of [first, second, third]) f.socket.destroy();
  await Promise.all([first.answer, second.answer, third.answer]);
  const left = await settle(() => uploadDirs(serverTmp), (dirs) => dirs.length === 0, 10_000);
  assert.deepEqual(left, [], 'no upload is left on the tmpfs');
});

it('a filesystem that fills up under an admitted upload is INSUFFICIENT_STORAGE, and its partial file is removed', async () => {
  const socket = await openTls(serve.url);
  socket.on('error', () => {});
  const answer = readAnswer(socket, 60_000);
  const head = filePartHead();
  socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: head.length + 8 * MiB }) + head);
  socket.write(Buffer.alloc(64 * 1024, 0x43));
  await settle(() => uploadDirs(serverTmp), (dirs) => dirs.length === 1, 5_000);
  // Someone else takes every byte that is left.
  const ballast = path.join(serverTmp, 'ballast');
  const file = await open(ballast, 'w');
  try {
    for (;;) await file.write(Buffer.alloc(MiB));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await file.close();
  }
  try {
    for (let i = 0; i < 32 && !socket.destroyed; i++) {
      socket.write(Buffer.alloc(256 * 1024, 0x43));
      await new Promise((r) => setTimeout(r, 5));
    }
    assertRefused(await answer, 'the upload that met a full filesystem');
    const left = await settle(() => uploadDirs(serverTmp), (dirs) => dirs.length === 0, 10_000);
    assert.deepEqual(left, [], 'its partial file is removed');
  } finally {
    await rm(ballast, { force: true });
  }
  assert.deepEqual((await readdir(serverTmp)).filter((e) => e !== 'ballast' && !e.startsWith('blindbox-enclave-')), []);
});
