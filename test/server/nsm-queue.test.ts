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
import { startServe, type ServeProcess } from '../../support/cli.js';
import { NsmStandIn } from '../helpers/nsm-stand-in.js';
import { errorCode, multipartBody, openTls, readAnswer, uploadHead, type RawAnswer } from '../../support/raw-client.js';

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

/** Asks for an attestation document from `localAddress`; resolves with the answer. */
async function attest(localAddress?: string): Promise<RawAnswer | undefined> {
  const socket = await openTls(serve.url, { localAddress });
  socket.write(`GET /attestation?nonce=${randomBytes(16).toString('hex')} HTTP/1.1\r\nhost: e\r\n\r\n`);
  return readAnswer(socket, 30_000);
}

/** Holds the stand-in's attestations until the returned function is called. */
function holdNsm(): () => void {
  let release!: () => void;
  nsm.hold = new Promise<void>((resolve) => (release = resolve));
  return () => {
    release();
    nsm.hold = undefined;
  };
}

it('while the NSM is busy with 6 attestations, an upload is still read and answered', async () => {
  const release = holdNsm();
  const attesting = [];
  try {
    for (let i = 0; i < 6; i++) attesting.push(attest());
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
  }
  for (const a of await Promise.all(attesting)) assert.equal(a?.status, 200, 'every attestation is answered once the NSM is');
});

it('at most 8 attestation documents wait for the NSM, from all addresses together; more get 503 ATTESTATION_BUSY at once', async () => {
  const release = holdNsm();
  let answers: (RawAnswer | undefined)[];
  try {
    const attesting = Array.from({ length: 12 }, (_, i) => attest(`127.0.0.${i + 2}`));
    const settled: (RawAnswer | undefined | 'waiting')[] = attesting.map(() => 'waiting');
    attesting.forEach((a, i) => void a.then((answer) => (settled[i] = answer)));
    await new Promise((r) => setTimeout(r, 2_000));
    const refused = settled.filter((a) => a !== 'waiting' && a?.status === 503 && errorCode(a) === 'ATTESTATION_BUSY' && a.headers['retry-after'] === '1');
    assert.equal(refused.length, 4, `the 4 past the cap were refused at once: ${settled.map((a) => (a === 'waiting' ? a : a?.status)).join(', ')}`);
    assert.equal(settled.filter((a) => a === 'waiting').length, 8, 'the 8 the NSM holds are not answered yet');
    release();
    answers = await Promise.all(attesting);
  } finally {
    release();
  }
  assert.equal(answers.filter((a) => a?.status === 200).length, 8, 'the 8 waiting are signed once the NSM answers');
});
