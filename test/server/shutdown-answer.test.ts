/**
 * A transcription still running when the server is told to stop is answered, not cut: after the grace period it gets
 * `503 SHUTTING_DOWN` with `Retry-After`, delivered whole before the connection closes. Sent as a client would, over
 * a raw TLS socket to the host proxy of a real `blindbox serve --simulate --engine pocketsphinx` process.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { drained, errorCode, multipartBody, openTls, readAnswer, uploadHead } from '../../support/raw-client.js';
import { SCRIPT, scratchDir, spokenRecording } from '../../support/speech.js';

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let serve: ServeProcess | undefined;
let recording: string;

before(async () => {
  scratch = await scratchDir();
  // Long enough that one worker is still decoding it when the 5 s grace period ends, however fast the machine.
  const lines = Array.from({ length: 6 }, () => SCRIPT.slt.map((text) => ({ voice: 'slt' as const, text }))).flat();
  recording = (await spokenRecording(scratch.dir, 'long', lines, 0.5)).path;
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--split-seconds', '100000', '--trust-out', path.join(scratch.dir, 'root.pem')]);
});

after(async () => {
  await serve?.stop('SIGKILL');
  await scratch.dispose();
});

describe('a transcription running at shutdown', () => {
  it('is answered 503 SHUTTING_DOWN with Retry-After, whole, before its connection closes', async () => {
    const body = multipartBody(await readFile(recording));
    const socket = await openTls(serve!.url);
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: body.length }));
    socket.write(body);
    await drained(socket);
    const answer = readAnswer(socket, 30_000);
    // The upload is in; let the worker start on it, then stop the server while it decodes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    const code = await serve!.stop('SIGTERM');
    const seconds = (Date.now() - started) / 1000;
    const got = await answer;
    socket.destroy();
    assert.equal(code, 0, serve!.stderr().slice(-2000));
    assert.ok(seconds < 15, `stopped in ${seconds.toFixed(1)} s`);
    assert.match(serve!.stderr(), /shutdown: aborting 1 request\(s\) still running/, 'the transcription was still running when the grace period ended');
    assert.equal(got?.status, 503, `the answer: ${JSON.stringify(got)}`);
    assert.equal(errorCode(got), 'SHUTTING_DOWN');
    assert.equal(got!.headers['retry-after'], '5');
  });
});
