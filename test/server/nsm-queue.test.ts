/**
 * NSM calls must not take the threads file I/O needs. The addon runs each ioctl on libuv's pool (4 threads), and the
 * device serves one call at a time: attestations waiting for it would each hold a pool thread, and an upload's
 * file writes would wait behind them. Here the NSM stand-in holds every attestation; while it does, an upload must
 * still be read and answered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { startServe, type ServeProcess } from '../helpers/cli.js';
import { NsmStandIn } from '../helpers/nsm-stand-in.js';
import { errorCode, multipartBody, openTls, readAnswer, uploadHead } from '../helpers/raw-client.js';

let dir: string;
let nsm: NsmStandIn;
let serve: ServeProcess;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-nsm-queue-'));
  nsm = await NsmStandIn.start(path.join(dir, 'nsm.sock'));
  serve = await startServe(['--engine', 'pocketsphinx', '--workers', '1'], { ...nsm.env, UV_THREADPOOL_SIZE: '4' });
});
after(async () => {
  await serve?.stop('SIGKILL');
  await nsm?.close();
  await rm(dir, { recursive: true, force: true });
});

it('while the NSM is busy with 6 attestations, an upload is still read and answered', async () => {
  let release!: () => void;
  nsm.hold = new Promise<void>((resolve) => (release = resolve));
  const attesting = [];
  try {
    for (let i = 0; i < 6; i++) {
      const socket = await openTls(serve.url);
      socket.write(`GET /attestation?nonce=${randomBytes(16).toString('hex')} HTTP/1.1\r\nhost: e\r\n\r\n`);
      attesting.push(readAnswer(socket, 30_000));
    }
    await new Promise((r) => setTimeout(r, 500)); // every attestation has reached the device
    const socket = await openTls(serve.url);
    const body = multipartBody(Buffer.alloc(256 * 1024, 0x41));
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: body.length }));
    socket.write(body);
    const answer = await readAnswer(socket, 10_000);
    assert.equal(answer?.status, 400, `the upload was answered while the NSM was busy: ${answer?.status}`);
    assert.equal(errorCode(answer), 'UNREADABLE_AUDIO');
  } finally {
    release();
    nsm.hold = undefined;
  }
  for (const a of await Promise.all(attesting)) assert.equal(a?.status, 200, 'every attestation is answered once the NSM is');
});
