/**
 * The reference server against hostile clients, attacked as an attacker would: raw TLS sockets to the host proxy of
 * a real `blindbox serve --simulate --engine pocketsphinx` process, with its own TMPDIR so that what it leaves behind
 * (temp directories, open descriptors) can be counted from outside.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, fileSource, loadRootFile } from '../../src/core/index.js';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { openFds, settle, uploadDirs } from '../helpers/process-stats.js';
import { BOUNDARY, errorCode, exchange, filePartHead, multipartBody, openTcp, openTls, readAnswer, uploadHead } from '../../support/raw-client.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';

let serve: ServeProcess;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let serverTmp: string;
let speech: { wav: string; text: string };
let baselineFds: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A legitimate user: attest, transcribe the flite sentence, close. */
async function legitimateTranscription(): Promise<string> {
  const session = await connect(serve.url, { roots: await loadRootFile(path.join(scratch.dir, 'root.pem')) });
  try {
    return (await session.transcribe(await fileSource(speech.wav), { format: 'text' })).text;
  } finally {
    await session.close();
  }
}

/** Waits until the server holds no more descriptors than at the start and no upload directory; returns what it holds. */
async function settledServer(timeoutMs = 10_000): Promise<{ fds: string[]; tmp: string[] }> {
  const probe = async () => ({ fds: await openFds(serve.child.pid!), tmp: await uploadDirs(serverTmp) });
  return settle(probe, (v) => v.fds.length <= baselineFds && v.tmp.length === 0, timeoutMs);
}

before(async () => {
  scratch = await scratchDir();
  serverTmp = await mkdtemp(path.join(tmpdir(), 'blindbox-hostile-tmp-'));
  speech = { wav: await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'legit'), text: SCRIPT.slt[0]! };
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--trust-out', path.join(scratch.dir, 'root.pem')], { TMPDIR: serverTmp });
  // Warm up (TLS, the worker, undici's pools), then let the keep-alive connection lapse: that is the resting state.
  await legitimateTranscription();
  await sleep(6_000);
  baselineFds = (await openFds(serve.child.pid!)).length;
});

after(async () => {
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
  if (serverTmp) await rm(serverTmp, { recursive: true, force: true });
});

describe('a hostile client cannot stop or jam the reference server', () => {
  it('request-targets the URL parser refuses get a JSON error, and the server goes on', async () => {
    for (const target of ['//[', 'http://[/', '//%/', 'https://%zz/', '//a:b/', 'https://x:99999/', 'http://a:b@/']) {
      const answer = await exchange(serve.url, `GET ${target} HTTP/1.1\r\nhost: enclave\r\n\r\n`);
      assert.ok(answer, `an answer to ${target}`);
      assert.ok(answer.status === 400 || answer.status === 404, `${target}: ${answer.status}`);
      assert.match(errorCode(answer) ?? '', /^(INVALID_REQUEST_TARGET|NOT_FOUND)$/, `${target}: ${answer.body}`);
    }
    assert.equal(serve.child.exitCode, null, 'the server process is alive');
    assert.ok(wordErrorRate(speech.text, await legitimateTranscription()).rate <= 0.25, 'and still transcribes');
  });

  it('an upload with a second file or a wrong field is refused, and the server goes on', async () => {
    for (const field of ['audio', 'file']) {
      const body = Buffer.concat([multipartBody(Buffer.alloc(2048, 1), 'extra').subarray(0, -`--${BOUNDARY}--\r\n`.length), multipartBody(Buffer.alloc(2048, 2), field)]);
      const answer = await exchange(serve.url, Buffer.concat([Buffer.from(uploadHead('/v1/audio/transcriptions', { contentLength: body.length })), body]));
      assert.equal(answer?.status, 400, `${field}: ${answer?.body}`);
      assert.equal(errorCode(answer), 'UNEXPECTED_FILE');
    }
    assert.equal(serve.child.exitCode, null, 'the server process is alive');
    assert.equal((await exchange(serve.url, 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n'))?.status, 200);
  });

  it('a broken chunk or a bare request head, then a closed connection, gives back its slot and its directory', async () => {
    // Twice the server's eight slots of each: before the fix, eight of them jammed it for good.
    for (let i = 0; i < 16; i++) {
      const socket = await openTls(serve.url);
      socket.write(uploadHead('/v1/audio/transcriptions', { chunked: true }) + (i % 2 === 0 ? 'zz\r\n' : ''));
      await sleep(20);
      socket.destroy();
    }
    const left = await settledServer();
    assert.deepEqual(left.tmp, [], 'no temp directory is left');
    assert.ok(left.fds.length <= baselineFds, `descriptors back to ${baselineFds}: ${left.fds.length}`);
    assert.ok(wordErrorRate(speech.text, await legitimateTranscription()).rate <= 0.25, 'a legitimate transcription is admitted and works');
  });

  it('aborted uploads close their file, free its storage and their socket', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = await openTls(serve.url);
      socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: 4 * 1024 * 1024 }) + filePartHead());
      socket.write(Buffer.alloc(1024 * 1024, i));
      await sleep(50);
      socket.destroy();
    }
    const left = await settledServer();
    assert.deepEqual(left.fds.filter((fd) => fd.includes('(deleted)') || fd.startsWith(serverTmp)), [], 'no descriptor of an upload file is open');
    assert.deepEqual(left.tmp, [], 'no temp directory is left');
    assert.ok(left.fds.length <= baselineFds, `descriptors back to ${baselineFds}: ${left.fds.length}`);
  });

  it("answers the HTTP parser's own refusals as the protocol's JSON errors", async () => {
    const cases: Array<[string, string | Buffer, number]> = [
      ['Content-Length with chunked', 'POST /healthz HTTP/1.1\r\nhost: e\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 400],
      ['a broken chunk size', uploadHead('/v1/audio/transcriptions', { chunked: true }) + 'zz\r\n', 400],
      ['a malformed request line', 'GET / HTTP/1.1 extra\r\n\r\n', 400],
      ['headers larger than 16 KiB', `GET /healthz HTTP/1.1\r\nhost: e\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ];
    for (const [what, bytes, status] of cases) {
      const answer = await exchange(serve.url, bytes);
      assert.equal(answer?.status, status, `${what}: ${answer?.status}`);
      assert.match(answer!.headers['content-type'] ?? '', /^application\/json/, `${what}: JSON`);
      assert.ok(errorCode(answer), `${what}: an error code in ${answer!.body}`);
    }
  });

  it('caps the connections one source address may hold, and the others are still served', async () => {
    const hoard: Socket[] = [];
    try {
      for (let i = 0; i < 80; i++) hoard.push((await openTcp(serve.url, '127.0.0.3')).on('error', () => {}).resume());
      const open = await settle(async () => hoard.filter((s) => !s.destroyed && !s.readableEnded).length, (n) => n <= 64, 3_000);
      assert.ok(open <= 64, `${open} of 80 connections from one address stayed open`);
      const answer = await exchange(serve.url, 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
      assert.equal(answer?.status, 200, 'another address is still served');
    } finally {
      for (const s of hoard) s.destroy();
    }
  });

  it('SIGTERM stops the server within 15 s, even with a stalled upload and a half-open handshake', async () => {
    const stalled = await openTls(serve.url);
    stalled.write(uploadHead('/v1/audio/transcriptions', { contentLength: 1024 * 1024 }) + filePartHead());
    const answer = readAnswer(stalled, 20_000);
    const handshaking = await openTcp(serve.url);
    handshaking.on('error', () => {});
    await sleep(500);
    const started = Date.now();
    const code = await serve.stop('SIGTERM');
    const seconds = (Date.now() - started) / 1000;
    handshaking.destroy();
    assert.ok(seconds < 15, `stopped in ${seconds.toFixed(1)} s`);
    assert.equal(code, 0, serve.stderr().slice(-2000));
    const got = await answer;
    assert.ok(got === undefined || got.status === 503, `the stalled upload is answered 503 or cut: ${got?.status}`);
  });
});
